package integration

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// verifierBudget is the most instructions the kernel's verifier may walk to
// load one of otrace's programs. Loading is most of otrace's attach time,
// and a program past the budget is one the next library, or an older
// kernel, pushes past the verifier's own limit (1,000,000). The largest
// today take about 12,000 on 6.18; with their packing position on the stack
// the HTTP server's ends took 249,000 each, and attaching to etcd took a
// second instead of a quarter of one.
const verifierBudget = 60000

// TestVerifierBudget: every BPF program otrace loads for the fixtures, every
// library among them (HTTP server and client, x/net/http2, gRPC, database/sql,
// go-redis, kafka-go, goroutines), is verified within verifierBudget
// instructions (the kernel's verified_insns, a count, not a time).
func TestVerifierBudget(t *testing.T) {
	bin := otraceBin(t)
	requireRoot(t)
	redis := redisFixture(t, redisReleases[0])
	kafka := goFixture(t, "kafkaapp", "kafkaapp-"+kafkaReleases[0], kafkaReleases[0])
	cases := []struct {
		name  string
		start func(t *testing.T, dir string) int
	}{
		{"httpserver", func(t *testing.T, dir string) int {
			p, _ := startFixture(t, dir, fixture(t))
			return p.pid()
		}},
		{"services", func(t *testing.T, dir string) int {
			_, s := startServices(t, dir, servicesFixture(t))
			return s.pid
		}},
		{"redisapp", func(t *testing.T, dir string) int {
			port := filepath.Join(dir, "port")
			p := startProc(t, dir, "redisapp", nil, redis, "-redis", startRedis(t), "-port-file", port)
			waitPortFile(t, port, p)
			return p.pid()
		}},
		{"kafkaapp", func(t *testing.T, dir string) int {
			port := filepath.Join(dir, "port")
			p := startProc(t, dir, "kafkaapp", nil, kafka, "-brokers", "127.0.0.1:1", "-port-file", port)
			waitPortFile(t, port, p)
			return p.pid()
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			pid := c.start(t, dir)
			otrace := attachPID(t, dir, bin, pid, nil, "-o", filepath.Join(dir, "out.jsonl"))
			progs := verifiedInsns(t, otrace.pid())
			if len(progs) == 0 {
				t.Fatalf("found no BPF program among otrace's descriptors")
			}
			most, total := 0, 0
			for id, n := range progs {
				total += n
				most = max(most, n)
				if n > verifierBudget {
					t.Errorf("BPF program %s: %d instructions verified, budget %d", progName(id), n, verifierBudget)
				}
			}
			t.Logf("%d programs, %d instructions verified in all, %d the most", len(progs), total, most)
		})
	}
}

// verifiedInsns reads, from /proc/PID/fdinfo, the verified_insns of each BPF
// program process pid holds, by program id; the test is skipped when the
// kernel does not say (before 5.16).
func verifiedInsns(t *testing.T, pid int) map[int]int {
	t.Helper()
	dir := filepath.Join("/proc", strconv.Itoa(pid), "fdinfo")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	progs := map[int]int{}
	for _, e := range entries {
		f, err := os.Open(filepath.Join(dir, e.Name()))
		if err != nil {
			continue // closed meanwhile
		}
		fields := map[string]string{}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok {
				fields[k] = strings.TrimSpace(v)
			}
		}
		f.Close()
		if _, isProg := fields["prog_type"]; !isProg {
			continue
		}
		v, ok := fields["verified_insns"]
		if !ok {
			t.Skip("the kernel does not report verified_insns (Linux 5.16 and later do)")
		}
		id, err1 := strconv.Atoi(fields["prog_id"])
		n, err2 := strconv.Atoi(v)
		if err1 != nil || err2 != nil {
			t.Fatalf("%s: prog_id %q, verified_insns %q", e.Name(), fields["prog_id"], v)
		}
		progs[id] = n
	}
	return progs
}

// progName: "NAME (id N)" from bpftool when it is there, else "id N".
func progName(id int) string {
	out, err := exec.Command("bpftool", "prog", "show", "id", strconv.Itoa(id)).Output()
	if f := strings.Fields(string(out)); err == nil {
		for i := 0; i+1 < len(f); i++ {
			if f[i] == "name" {
				return f[i+1] + " (id " + strconv.Itoa(id) + ")"
			}
		}
	}
	return "id " + strconv.Itoa(id)
}
