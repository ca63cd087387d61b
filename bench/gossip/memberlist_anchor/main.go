// The gossip benchmark's anchor (bench/gossip/run.sh; docs/performance.md "Reproduce"):
// hashicorp/memberlist driven the way run.sh drives chronik. The same source is built against two
// versions, both through the Go module proxy: go.mod pins 0.2.2 (Debian 12's version, the one the
// earlier tables used) and go.0.7.0.mod pins 0.7.0 (issue 20, "The gossip anchor, raised"), used
// with `go build -modfile=go.0.7.0.mod`; each has its go.sum beside it. The code compiles
// unchanged against both: every call it makes has kept its signature from 0.2.2 to 0.7.0.
//
// Modes (output lines are key=value pairs that run.sh parses):
//   - default: N nodes on 127.0.0.1, each joining only the previous one; prints the time to full
//     convergence after the last join, then shuts one node down without a leave and prints when
//     the survivors saw it go (first, median, last);
//   - -pause D: after convergence one extra node runs as its own process, is stopped for D
//     (SIGSTOP) and resumed; prints how many nodes declared it dead;
//   - -single NAME: one node as its own process, joining -seed, until killed.
//
// -key BASE64 (32 bytes) sets Config.SecretKey on every node, the extra and -single ones included:
// memberlist then seals every packet and stream with AES-256-GCM, as chronik's gossip_key does
// (docs/security.md "Gossip encryption"). Everything else stays DefaultLANConfig (with its timings
// pinned, see pinLAN) or DefaultLocalConfig.
package main

import (
	"encoding/base64"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"sort"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/memberlist"
)

// departures records, per member name, when this node first saw it leave or die.
type departures struct {
	mu   sync.Mutex
	seen map[string]time.Time
}

func (d *departures) NotifyJoin(*memberlist.Node)   {}
func (d *departures) NotifyUpdate(*memberlist.Node) {}
func (d *departures) NotifyLeave(n *memberlist.Node) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.seen[n.Name]; !ok {
		d.seen[n.Name] = time.Now()
	}
}

func (d *departures) at(name string) (time.Time, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	t, ok := d.seen[name]
	return t, ok
}

// secretKey is -key decoded, nil without it; set once in main before any node starts.
var secretKey []byte

func config(profile, name string, port int, verbose bool) *memberlist.Config {
	c := memberlist.DefaultLANConfig()
	pinLAN(c)
	if profile == "local" {
		c = memberlist.DefaultLocalConfig()
	}
	c.Name = name
	c.BindAddr, c.AdvertiseAddr = "127.0.0.1", "127.0.0.1"
	c.BindPort, c.AdvertisePort = port, port
	if !verbose {
		c.LogOutput = io.Discard
	}
	// With a key, memberlist 0.2.2 seals with encryption version 1 (its default protocol version
	// 2): a version byte, a 12-byte nonce and the 16-byte GCM tag, 29 bytes like chronik's sealed
	// form. GossipVerifyIncoming/Outgoing keep their default, true. This version has no label
	// (Config.Label came later), so nothing is sent or authenticated beside the message;
	// EnableCompression keeps its default, true, in both the plaintext and the sealed runs.
	c.SecretKey = secretKey
	return c
}

// pinLAN sets every timing and size that the comparison depends on to the values of chronik's lan
// preset (gossip/core/config.h), so that both memberlist builds measure the same protocol whatever
// their DefaultLANConfig says. Today it changes nothing: 0.7.0's DefaultLANConfig has the same
// value as 0.2.2's in every field the two share. 0.7.0 adds fields whose defaults leave the
// protocol as 0.2.2 runs it: Label "" (no label, as 0.2.2 sends none), SkipInboundLabelCheck false,
// MsgpackUseNewTimeFormat false (0.2.2's encoding), MetricLabels nil, and QueueCheckInterval 30 s,
// which only samples the broadcast queue's length for metrics and sends nothing.
func pinLAN(c *memberlist.Config) {
	c.ProtocolVersion = memberlist.ProtocolVersion2Compatible // as DefaultLANConfig in both
	c.ProbeInterval = time.Second
	c.ProbeTimeout = 500 * time.Millisecond
	c.IndirectChecks = 3
	c.DisableTcpPings = false // its fallback TCP ping of a silent target stays on in both
	c.GossipInterval = 200 * time.Millisecond
	c.GossipNodes = 3
	c.GossipToTheDeadTime = 30 * time.Second
	c.RetransmitMult = 4
	c.SuspicionMult = 4
	c.SuspicionMaxTimeoutMult = 6
	c.AwarenessMaxMultiplier = 8
	c.PushPullInterval = 30 * time.Second
	c.TCPTimeout = 10 * time.Second
	c.UDPBufferSize = 1400
	c.EnableCompression = true
	c.GossipVerifyIncoming, c.GossipVerifyOutgoing = true, true
}

func start(c *memberlist.Config, seed string) *memberlist.Memberlist {
	m, err := memberlist.Create(c)
	if err != nil {
		log.Fatalf("create %s: %v", c.Name, err)
	}
	if seed != "" {
		if _, err := m.Join([]string{seed}); err != nil {
			log.Fatalf("join %s via %s: %v", c.Name, seed, err)
		}
	}
	return m
}

// waitFor polls cond every 10 ms until it holds or limit passes; false on timeout.
func waitFor(limit time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}

func name(i int) string { return fmt.Sprintf("node-%03d", i) }

func main() {
	n := flag.Int("n", 16, "nodes")
	base := flag.Int("port", 17946, "first port")
	profile := flag.String("profile", "lan", "lan or local")
	verbose := flag.Bool("v", false, "print memberlist's own log")
	single := flag.String("single", "", "run one node of this name, joining -seed, until killed")
	seed := flag.String("seed", "", "seed address for -single")
	pause := flag.Duration("pause", 0, "pause test: stop an extra node (its own process) for this long")
	key := flag.String("key", "", "base64 of a 32-byte key: Config.SecretKey (AES-256-GCM) on every node")
	flag.Parse()
	if *key != "" {
		k, err := base64.StdEncoding.DecodeString(*key)
		if err != nil || len(k) != 32 {
			log.Fatalf("-key: want base64 of exactly 32 bytes (AES-256), like chronik's gossip_key")
		}
		secretKey = k
	}

	if *single != "" {
		start(config(*profile, *single, *base, *verbose), *seed)
		select {}
	}

	nodes := make([]*memberlist.Memberlist, *n)
	seen := make([]*departures, *n)
	began := time.Now()
	for i := range nodes {
		c := config(*profile, name(i), *base+i, *verbose)
		seen[i] = &departures{seen: map[string]time.Time{}}
		c.Events = seen[i]
		joinVia := ""
		if i > 0 {
			joinVia = fmt.Sprintf("127.0.0.1:%d", *base+i-1)
		}
		nodes[i] = start(c, joinVia)
	}
	joined := time.Since(began)
	t0 := time.Now()
	if !waitFor(120*time.Second, func() bool {
		for _, m := range nodes {
			if m.NumMembers() != *n {
				return false
			}
		}
		return true
	}) {
		log.Fatal("no convergence within 120 s")
	}
	fmt.Printf("profile=%s n=%d create+join=%v full-convergence-after-last-join=%v encrypt=%t\n", *profile, *n,
		joined.Round(time.Millisecond), time.Since(t0).Round(time.Millisecond), secretKey != nil)

	if *pause > 0 {
		pauseTest(nodes, seen, *n, *base, *profile, *key, *pause)
		return
	}
	crashTest(nodes, seen, *n)
}

// pauseTest stops an extra node (a process of its own, so SIGSTOP freezes it alone) for `pause`,
// resumes it, and counts the nodes that declared it dead meanwhile.
func pauseTest(nodes []*memberlist.Memberlist, seen []*departures, n, base int, profile, key string, pause time.Duration) {
	const ext = "ext-node"
	args := []string{"-single", ext, "-port", fmt.Sprint(base + n), "-seed", fmt.Sprintf("127.0.0.1:%d", base),
		"-profile", profile}
	if key != "" {
		args = append(args, "-key", key)
	}
	cmd := exec.Command(os.Args[0], args...)
	if err := cmd.Start(); err != nil {
		log.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	if !waitFor(60*time.Second, func() bool { return nodes[0].NumMembers() == n+1 }) {
		log.Fatal("the extra node never joined")
	}
	time.Sleep(3 * time.Second) // let it spread to every member before the pause
	stopped := time.Now()
	cmd.Process.Signal(syscall.SIGSTOP)
	time.Sleep(pause)
	cmd.Process.Signal(syscall.SIGCONT)
	time.Sleep(15 * time.Second) // long enough for a late suspicion to be confirmed or refuted
	declared := 0
	var first time.Duration
	for _, d := range seen {
		if t, ok := d.at(ext); ok {
			declared++
			if first == 0 || t.Sub(stopped) < first {
				first = t.Sub(stopped)
			}
		}
	}
	fmt.Printf("pause-test profile=%s n=%d+1 pause=%v: nodes-that-declared-ext-dead=%d/%d first-at=%v members-after-resume(node0)=%d\n",
		profile, n, pause, declared, n, first.Round(time.Millisecond), nodes[0].NumMembers())
}

// crashTest shuts the middle node down without a leave and prints when the survivors saw it go.
func crashTest(nodes []*memberlist.Memberlist, seen []*departures, n int) {
	victim := n / 2
	crashed := time.Now()
	nodes[victim].Shutdown()
	waitFor(180*time.Second, func() bool {
		for i, d := range seen {
			if _, ok := d.at(name(victim)); !ok && i != victim {
				return false
			}
		}
		return true
	})
	var after []float64
	for i, d := range seen {
		if t, ok := d.at(name(victim)); ok && i != victim {
			after = append(after, t.Sub(crashed).Seconds())
		}
	}
	sort.Float64s(after)
	if len(after) == 0 {
		fmt.Println("victim never declared dead")
	} else {
		fmt.Printf("failure detection of %s: seen-by=%d/%d first=%.2fs median=%.2fs last=%.2fs\n", name(victim),
			len(after), n-1, after[0], after[len(after)/2], after[len(after)-1])
	}
	for i, m := range nodes {
		if i != victim {
			m.Shutdown()
		}
	}
}
