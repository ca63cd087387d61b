# frozen_string_literal: true

# Checks vagrant/plan.rb, the layout the Vagrantfile builds, with plain Ruby (no Vagrant needed):
# addresses inside VirtualBox's default host-only range, seed lists, the /etc/hosts block and the
# provisioner's environment, for NODES = 1, 3 and 5, and the errors for bad NODES values; and the
# cluster's shared secrets (ensure_secrets): file modes, the CA's shape, kept on a second call, a lone
# half of a CA refused.
require "base64"
require "ipaddr"
require "tmpdir"
require_relative "../../vagrant/plan"

$passed = 0
$failed = 0

def check(what, ok)
  if ok
    $passed += 1
  else
    $failed += 1
    puts "FAIL: #{what}"
  end
end

def raises?(pattern)
  yield
  false
rescue ArgumentError => e
  e.message.match?(pattern)
end

virtualbox_range = IPAddr.new("192.168.56.0/21")

[1, 3, 5].each do |count|
  nodes = ChronikPlan.nodes(count)
  check("#{count} nodes", nodes.size == count)
  check("names node1..node#{count}", nodes.map(&:name) == (1..count).map { |i| "node#{i}" })
  check("addresses distinct", nodes.map(&:ip).uniq.size == count)
  nodes.each do |n|
    check("#{n.name} #{n.ip} in 192.168.56.0/21", virtualbox_range.include?(IPAddr.new(n.ip)))
    seeds = ChronikPlan.seeds(n, nodes)
    others = nodes.reject { |o| o.id == n.id }.map { |o| "#{o.ip}:7946" }
    check("#{n.name} seeds every other node", seeds == others)
    check("#{n.name} is not its own seed", !seeds.include?("#{n.ip}:7946"))
    env = ChronikPlan.provision_env(n, nodes, count)
    check("#{n.name} env node id", env["CHRONIK_NODE_ID"] == n.id.to_s)
    check("#{n.name} env bind", env["CHRONIK_BIND"] == n.ip)
    check("#{n.name} env seeds", env["CHRONIK_SEEDS"] == others.join(","))
    check("#{n.name} env bootstrap_expect", env["CHRONIK_BOOTSTRAP_EXPECT"] == count.to_s)
    check("#{n.name} env hosts", env["CHRONIK_HOSTS"].split(",") == nodes.map { |o| "#{o.ip} #{o.name}" })
    check("#{n.name} env src", env["CHRONIK_SRC"] == "/vagrant")
    check("#{n.name} env values are strings", env.values.all? { |v| v.is_a?(String) })
  end
end

first = ChronikPlan.nodes(3)
check("node1 is 192.168.56.11", first[0].ip == "192.168.56.11")
check("node3 is 192.168.56.13", first[2].ip == "192.168.56.13")
last = ChronikPlan.nodes(ChronikPlan::MAX_NODES).last
check("the last allowed node is inside the /24", IPAddr.new("192.168.56.0/24").include?(IPAddr.new(last.ip)))
check("CHRONIK_SUBNET moves the nodes", ChronikPlan.nodes(2, subnet: "192.168.60")[1].ip == "192.168.60.12")

check("NODES default text", ChronikPlan.node_count("3") == 3)
check("NODES with spaces", ChronikPlan.node_count(" 5 ") == 5)
%w[0 -1 51 x 3x 0x3].push("").each do |bad|
  check("NODES=#{bad.inspect} refused", raises?(/NODES must be an integer from 1 to 50/) { ChronikPlan.node_count(bad) })
end
check("BOOTSTRAP_EXPECT defaults to NODES", ChronikPlan.bootstrap_expect(nil, 5) == 5)
check("BOOTSTRAP_EXPECT may be fewer", ChronikPlan.bootstrap_expect("3", 5) == 3)
check("BOOTSTRAP_EXPECT above NODES refused", raises?(/BOOTSTRAP_EXPECT/) { ChronikPlan.bootstrap_expect("6", 5) })
check("CHRONIK_SUBNET accepted", ChronikPlan.subnet("192.168.57") == "192.168.57")
%w[192.168 192.168.56.0 192.168.256 a.b.c 192.168.056].each do |bad|
  check("CHRONIK_SUBNET=#{bad} refused", raises?(/CHRONIK_SUBNET/) { ChronikPlan.subnet(bad) })
end
check("rsync excludes build trees", (%w[/build/ /build-*/ /.run/ /data/] - ChronikPlan::RSYNC_EXCLUDE).empty?)

Dir.mktmpdir("chronik-plan-test") do |tmp|
  dir = File.join(tmp, "vagrant")
  paths = ChronikPlan.ensure_secrets(dir)
  mode = ->(f) { File.stat(f).mode & 0o777 }
  check("admin token is 64 hex digits", File.read(paths[:admin_token]).match?(/\A\h{64}\n\z/))
  check("gossip key is base64 of 32 bytes", Base64.strict_decode64(File.read(paths[:gossip_key]).strip).bytesize == 32)
  %i[admin_token gossip_key ca_key].each { |k| check("#{k} mode 0600", mode.call(paths[k]) == 0o600) }
  check("ca.crt mode 0644", mode.call(paths[:ca_crt]) == 0o644)
  check("pki directory mode 0700", mode.call(File.join(dir, ".pki")) == 0o700)
  check("no temporary files left", Dir.glob(File.join(dir, "**", "*.new"), File::FNM_DOTMATCH).empty?)

  cert = OpenSSL::X509::Certificate.new(File.read(paths[:ca_crt]))
  key = OpenSSL::PKey.read(File.read(paths[:ca_key]))
  ext = cert.extensions.to_h { |e| [e.oid, e] }
  check("CA key is ECDSA P-256", key.is_a?(OpenSSL::PKey::EC) && key.group.curve_name == "prime256v1")
  check("CA key belongs to the certificate", cert.check_private_key(key))
  check("CA is self-signed", cert.issuer.to_s == cert.subject.to_s && cert.verify(key))
  check("CA CN names a chronik cluster CA", cert.subject.to_s.match?(%r{\A/CN=chronik cluster CA \h{8}\z}))
  check("CA basicConstraints critical CA:TRUE", ext["basicConstraints"]&.critical? && ext["basicConstraints"].value == "CA:TRUE")
  check("CA keyUsage critical keyCertSign, cRLSign",
        ext["keyUsage"]&.critical? && ext["keyUsage"].value == "Certificate Sign, CRL Sign")
  check("CA has key identifiers", ext.key?("subjectKeyIdentifier") && ext.key?("authorityKeyIdentifier"))
  check("CA signed with SHA-256", cert.signature_algorithm == "ecdsa-with-SHA256")
  check("CA valid now, for 4 x 825 days",
        cert.not_before <= Time.now && (cert.not_after - cert.not_before - (ChronikPlan::CA_DAYS * 86_400 + 300)).abs < 5)

  before = paths.values.to_h { |f| [f, File.read(f)] }
  ChronikPlan.ensure_secrets(dir)
  check("a second call keeps every secret", before.all? { |f, text| File.read(f) == text })

  File.delete(paths[:ca_key])
  check("a CA certificate without its key is refused",
        raises?(/ca.crt and ca.key must both exist/) { ChronikPlan.ensure_secrets(dir) })
  check("the lone CA certificate is not replaced", File.read(paths[:ca_crt]) == before[paths[:ca_crt]])
end

puts "plan: #{$passed} passed, #{$failed} failed"
exit($failed.zero? ? 0 : 1)
