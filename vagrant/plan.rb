# frozen_string_literal: true

# The cluster layout the Vagrantfile builds, in plain Ruby so that tests/vagrant/plan_test.rb can
# check it without Vagrant: node names, static addresses, each node's seed list, the /etc/hosts
# block, and the environment handed to vagrant/provision.sh.
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
