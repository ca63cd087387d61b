# frozen_string_literal: true

# The cluster layout the Vagrantfile builds, in plain Ruby so that tests/vagrant/plan_test.rb can
# check it without Vagrant: node names, static addresses, each node's seed list, the /etc/hosts
# block, the environment handed to vagrant/provision.sh, and the cluster's shared secrets.
require "fileutils"
require "openssl"
require "securerandom"

module ChronikPlan
  # VirtualBox allows host-only addresses in 192.168.56.0/21 unless /etc/vbox/networks.conf says
  # otherwise; node N gets DEFAULT_SUBNET.(FIRST_HOST + N - 1).
  DEFAULT_SUBNET = "192.168.56"
  FIRST_HOST = 11
  MAX_NODES = 50
  GOSSIP_PORT = 7946
  # Where the Vagrantfile syncs the repository in every VM.
  GUEST_SRC = "/vagrant"
  # Build trees, local-cluster state, data directories and Vagrant's own state stay on the host.
  RSYNC_EXCLUDE = [".git/", "/build/", "/build-*/", "/.run/", "/data/",
                   "node_modules/", "__pycache__/"].freeze

  # The cluster's shared secrets, made once on the host next to the Vagrantfile (ignored by git) and
  # rsynced to every VM with the repository (docs/security.md):
  ADMIN_TOKEN = ".admin_token"  # the admin API's bearer token, 64 hex digits
  GOSSIP_KEY = ".gossip_key"    # gossip_key: base64 of 32 random bytes, as `chronik-server keygen`
  PKI_DIR = ".pki"              # ca.crt and ca.key: the development CA every node certificate is from
  CA_DAYS = 4 * 825             # as `chronik-server certs` makes a CA: four times a node's 825 days

  Node = Struct.new(:id, :name, :ip, keyword_init: true)

  # The NODES environment value as a count, or an error naming the variable.
  def self.node_count(text)
    count = Integer(text.to_s.strip, 10)
    raise ArgumentError unless count.between?(1, MAX_NODES)

    count
  rescue ArgumentError
    raise ArgumentError, "NODES must be an integer from 1 to #{MAX_NODES}, got #{text.inspect}"
  end

  # The first three octets of the private network, as "A.B.C".
  def self.subnet(text)
    octets = text.to_s.split(".", -1)
    valid = octets.size == 3 && octets.all? { |o| o.match?(/\A(0|[1-9][0-9]{0,2})\z/) && o.to_i <= 255 }
    raise ArgumentError, "CHRONIK_SUBNET must be three octets like 192.168.56, got #{text.inspect}" unless valid

    text
  end

  # bootstrap_expect: every node of the cluster unless BOOTSTRAP_EXPECT says fewer.
  def self.bootstrap_expect(text, count)
    return count if text.nil? || text.strip.empty?

    expect = Integer(text.strip, 10)
    raise ArgumentError unless expect.between?(1, count)

    expect
  rescue ArgumentError
    raise ArgumentError, "BOOTSTRAP_EXPECT must be an integer from 1 to NODES (#{count}), got #{text.inspect}"
  end

  def self.nodes(count, subnet: DEFAULT_SUBNET)
    (1..count).map { |i| Node.new(id: i, name: "node#{i}", ip: "#{subnet}.#{FIRST_HOST + i - 1}") }
  end

  # Every other node's gossip address: any node may come up first, and joining retries.
  def self.seeds(node, nodes)
    nodes.reject { |n| n.id == node.id }.map { |n| "#{n.ip}:#{GOSSIP_PORT}" }
  end

  # "IP NAME" lines for /etc/hosts, one per node.
  def self.hosts_lines(nodes)
    nodes.map { |n| "#{n.ip} #{n.name}" }
  end

  # Makes the cluster's shared secrets in `dir` unless they exist; returns their paths. Each file is
  # written atomically with mode 0600 (ca.crt 0644), so a VM never sees half a file and another
  # `vagrant up` keeps them. Why the host makes the CA: the rsync synced folder copies host to VM
  # only, so one VM cannot hand a CA to the others, and the host does not build chronik-server;
  # Vagrant's Ruby always has OpenSSL. Each VM then issues its own node certificate from this CA
  # with `chronik-server certs` (vagrant/provision.sh), so node keys are made where they are used.
  def self.ensure_secrets(dir)
    FileUtils.mkdir_p(dir)
    token = File.join(dir, ADMIN_TOKEN)
    write_new(token, SecureRandom.hex(32) + "\n", 0o600) unless File.exist?(token)
    key = File.join(dir, GOSSIP_KEY)
    write_new(key, SecureRandom.base64(32) + "\n", 0o600) unless File.exist?(key)
    pki = File.join(dir, PKI_DIR)
    FileUtils.mkdir_p(pki, mode: 0o700)
    ca_crt = File.join(pki, "ca.crt")
    ca_key = File.join(pki, "ca.key")
    have = [ca_crt, ca_key].map { |f| File.exist?(f) }
    if have == [false, false]
      cert, pkey = make_ca
      write_new(ca_key, pkey.to_pem, 0o600)
      write_new(ca_crt, cert.to_pem, 0o644)
    elsif have != [true, true]
      # As `chronik-server certs`: a lone half is refused, not replaced (nodes may trust it).
      raise ArgumentError, "#{pki}: ca.crt and ca.key must both exist or both be absent; " \
                           "remove the other one to make a new CA"
    end
    { admin_token: token, gossip_key: key, ca_crt: ca_crt, ca_key: ca_key }
  end

  # A development CA shaped like `chronik-server certs` makes one (daemon/node_certs.cc make_ca):
  # ECDSA P-256, SHA-256, a random serial, valid from five minutes ago, CN "chronik cluster CA <hex>",
  # critical CA:TRUE and keyCertSign/cRLSign, subject and authority key identifiers.
  def self.make_ca(days: CA_DAYS)
    key = OpenSSL::PKey::EC.generate("prime256v1")
    cert = OpenSSL::X509::Certificate.new
    cert.version = 2 # X.509 v3
    cert.serial = OpenSSL::BN.new(SecureRandom.hex(16), 16) >> 1
    name = OpenSSL::X509::Name.new([["CN", "chronik cluster CA #{SecureRandom.hex(4)}", OpenSSL::ASN1::UTF8STRING]])
    cert.subject = name
    cert.issuer = name
    cert.public_key = key
    now = Time.now.utc
    cert.not_before = now - 300
    cert.not_after = now + days * 86_400
    ext = OpenSSL::X509::ExtensionFactory.new(cert, cert)
    cert.add_extension(ext.create_extension("basicConstraints", "CA:TRUE", true))
    cert.add_extension(ext.create_extension("keyUsage", "keyCertSign,cRLSign", true))
    cert.add_extension(ext.create_extension("subjectKeyIdentifier", "hash", false))
    cert.add_extension(ext.create_extension("authorityKeyIdentifier", "keyid:always", false))
    cert.sign(key, OpenSSL::Digest.new("SHA256"))
    [cert, key]
  end

  # Writes `text` to `path` with `mode` through a temporary file and a rename.
  def self.write_new(path, text, mode)
    tmp = "#{path}.new"
    File.open(tmp, File::WRONLY | File::CREAT | File::TRUNC, mode) { |f| f.write(text) }
    File.chmod(mode, tmp)
    File.rename(tmp, path)
  end

  # The environment of vagrant/provision.sh for one node (lists are comma-separated).
  def self.provision_env(node, nodes, bootstrap_expect)
    {
      "CHRONIK_NODE_ID" => node.id.to_s,
      "CHRONIK_BIND" => node.ip,
      "CHRONIK_SEEDS" => seeds(node, nodes).join(","),
      "CHRONIK_BOOTSTRAP_EXPECT" => bootstrap_expect.to_s,
      "CHRONIK_HOSTS" => hosts_lines(nodes).join(","),
      "CHRONIK_SRC" => GUEST_SRC
    }
  end
end
