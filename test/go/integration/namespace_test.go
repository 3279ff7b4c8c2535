package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"otrace.test/gotests/internal/otlp"
)

// A container id as Docker, containerd and CRI-O make them.
const testContainerID = "3f2a9c1e8b7d6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a19"

// nsLayout is a directory holding the fixture, bind-mounted in a new mount
// namespace on an empty directory of the host: inside, the program's path
// (mnt/server) names no file on the host.
type nsLayout struct {
	dir    string // files both sides see: port, pid, output
	inside string // holds the fixture, as "server"
	mnt    string // where inside is mounted, in the namespace only
}

func newNSLayout(t *testing.T, fx fixtureInfo) nsLayout {
	t.Helper()
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("unshare (util-linux) not installed")
	}
	dir := t.TempDir()
	l := nsLayout{dir: dir, inside: filepath.Join(dir, "inside"), mnt: filepath.Join(dir, "app")}
	for _, d := range []string{l.inside, l.mnt} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	copyFile(t, fx.path, filepath.Join(l.inside, "server"), 0o755)
	return l
}

// server is the fixture's path inside the namespace.
func (l nsLayout) server() string { return filepath.Join(l.mnt, "server") }

// start runs script with sh in new PID and mount namespaces with a proc of
// their own, after mounting the fixture's directory.
func (l nsLayout) start(t *testing.T, name, script string) *proc {
	t.Helper()
	return startProc(t, l.dir, name, nil, "unshare", "--pid", "--mount", "--fork", "--mount-proc",
		"sh", "-c", fmt.Sprintf("mount --bind %s %s && %s", l.inside, l.mnt, script))
}

// cgroup2Root is where the unified cgroup hierarchy is mounted, or "".
func cgroup2Root(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		for i, v := range f {
			if v == "-" && i+1 < len(f) && f[i+1] == "cgroup2" {
				return f[4]
			}
		}
	}
	return ""
}

// moveToCgroup makes the cgroup rel (its parents too) under the unified
// hierarchy and moves pid into it; at cleanup pid goes back to the root
// cgroup and the directories made are removed.
func moveToCgroup(t *testing.T, pid int, rel string) {
	t.Helper()
	root := cgroup2Root(t)
	if root == "" {
		t.Skip("no cgroup2 hierarchy mounted")
	}
	var made []string
	for p := filepath.Join(root, rel); p != root; p = filepath.Dir(p) {
		if _, err := os.Stat(p); err == nil {
			break
		}
		made = append(made, p)
	}
	if err := os.MkdirAll(filepath.Join(root, rel), 0o755); err != nil {
		t.Skipf("cannot make a cgroup: %v", err)
	}
	t.Cleanup(func() {
		os.WriteFile(filepath.Join(root, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0)
		for _, p := range made {
			os.Remove(p)
		}
	})
	if err := os.WriteFile(filepath.Join(root, rel, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0); err != nil {
		t.Skipf("cannot move PID %d into a cgroup: %v", pid, err)
	}
}

// checkProcessResource: every span names the process as pid, the program
// by the path it has where it runs, and the container (or none).
func checkProcessResource(t *testing.T, spans []otlp.Span, pid int, exe, container string) {
	t.Helper()
	for i, s := range spans {
		r := s.Resource
		if got := fmt.Sprint(r["process.pid"]); got != strconv.Itoa(pid) {
			t.Errorf("span %d: process.pid %s, want %d", i, got, pid)
		}
		if got := fmt.Sprint(r["process.executable.path"]); got != exe {
			t.Errorf("span %d: process.executable.path %q, want %q", i, got, exe)
		}
		if got, ok := r["container.id"]; container == "" && ok {
			t.Errorf("span %d: container.id %v where there is none", i, got)
		} else if container != "" && fmt.Sprint(got) != container {
			t.Errorf("span %d: container.id %v, want %s", i, got, container)
		}
		if t.Failed() {
			return
		}
	}
}

// TestTraceIntoNamespace: otrace on the host traces processes in PID and
// mount namespaces of their own, whose executable's path names no file on
// the host: with -p the file is read through /proc/PID/exe; process.pid is
// the host's PID, process.executable.path the path the process has, and
// container.id comes from the cgroup path, shaped as each runtime shapes it.
// One process per shape, traced together with --binary (the probes in the
// file: detaching a set per process costs ~0.1 s a probe on a busy machine).
func TestTraceIntoNamespace(t *testing.T) {
	bin := otraceBin(t)
	requireRoot(t)
	fx := fixture(t)
	l := newNSLayout(t, fx)
	if _, err := os.Stat(l.server()); err == nil {
		t.Fatalf("%s exists on the host too: the test would not show anything", l.server())
	}
	type container struct {
		runtime, cgroup string // cgroup "": none
		hostPid, port   int
	}
	cs := []*container{
		{runtime: "none"},
		{runtime: "docker", cgroup: "otrace-test.slice/docker-" + testContainerID + ".scope"},
		{runtime: "containerd", cgroup: "otrace-test.slice/kubepods-burstable-pod1b2c3d4e_5f6a.slice/cri-containerd-" + testContainerID + ".scope"},
		{runtime: "cri-o", cgroup: "otrace-test.slice/kubepods-besteffort-podab12.slice/crio-" + testContainerID + ".scope"},
	}
	var pids []string // the host's
	for _, c := range cs {
		portFile, pidFile := filepath.Join(l.dir, c.runtime+".port"), filepath.Join(l.dir, c.runtime+".pid")
		ns := l.start(t, "namespace-"+c.runtime, fmt.Sprintf("exec %s -portfile %s -pidfile %s", l.server(), portFile, pidFile))
		c.port = waitPortFile(t, portFile, ns)
		if inner := readPidFile(t, pidFile); inner != 1 {
			t.Fatalf("the fixture is PID %d in its namespace, want 1", inner)
		}
		c.hostPid = childOf(t, ns.pid())
		if c.cgroup != "" {
			moveToCgroup(t, c.hostPid, c.cgroup)
		}
		pids = append(pids, strconv.Itoa(c.hostPid))
	}

	// traced by PID, and by the file (on the host, at another path)
	for _, args := range [][]string{
		{"-p", pids[1]},
		{"--binary", filepath.Join(l.inside, "server")},
	} {
		t.Run(args[0], func(t *testing.T) {
			out := filepath.Join(l.dir, "out"+args[0]+".jsonl")
			otrace := startProc(t, l.dir, "otrace"+args[0], nil, bin, append(args, "-o", out)...)
			otrace.waitStderrLine(t, "attached", readyTimeout)
			for _, c := range cs {
				sendMixed(t, c.port, 3)
			}
			otrace.signal(t, syscall.SIGINT)
			otrace.expectExit(t, exitTimeout, 0)
			byPID := readOutputByPID(t, out)
			for _, c := range cs {
				if args[0] == "-p" && strconv.Itoa(c.hostPid) != args[1] {
					continue
				}
				t.Run(c.runtime, func(t *testing.T) {
					spans := byPID[c.hostPid]
					if len(spans) == 0 {
						t.Fatalf("no spans of PID %d", c.hostPid)
					}
					id := ""
					if c.cgroup != "" {
						id = testContainerID
					}
					checkProcessResource(t, spans, c.hostPid, l.server(), id)
				})
			}
		})
	}
	t.Run("--list-probes", func(t *testing.T) {
		code, stdout, stderr := runOtrace(t, l.dir, "otrace-list", bin, "--list-probes", "-p", pids[0])
		if code != 0 {
			t.Fatalf("exit %d:\n%s", code, stderr)
		}
		checkProbePlan(t, stdout, fx)
	})
}

// TestTraceFromNamespace: otrace itself in a PID namespace without the
// host's PIDs (a container without hostPID) names processes by the PIDs of
// its namespace, with -p and --exec; what it cannot do there is refused.
func TestTraceFromNamespace(t *testing.T) {
	bin := otraceBin(t)
	requireRoot(t)
	fx := fixture(t)
	l := newNSLayout(t, fx)
	portFile, pidFile := filepath.Join(l.dir, "port"), filepath.Join(l.dir, "pid")
	fixtureArgs := fmt.Sprintf("%s -portfile %s -pidfile %s", l.server(), portFile, pidFile)

	for _, mode := range []string{"-p", "--exec"} {
		t.Run(mode, func(t *testing.T) {
			os.Remove(portFile)
			os.Remove(pidFile)
			out := filepath.Join(l.dir, "out"+mode+".jsonl")
			script := fmt.Sprintf("%s & while [ ! -s %s ]; do sleep 0.1; done; exec %s -o %s -p $!",
				fixtureArgs, portFile, bin, out)
			if mode == "--exec" {
				script = fmt.Sprintf("exec %s -o %s --exec %s", bin, out, fixtureArgs)
			}
			ns := l.start(t, "namespace"+mode, script)
			port := waitPortFile(t, portFile, ns)
			pid := readPidFile(t, pidFile)
			ns.waitStderrLine(t, "attached", readyTimeout)
			reqs := sendMixed(t, port, 3)
			// otrace is unshare's child (sh exec'd it); -p leaves the
			// fixture running, which unshare's end kills with the namespace.
			if err := syscall.Kill(childOf(t, ns.pid()), syscall.SIGINT); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(exitTimeout)
			for !strings.Contains(ns.stderr(), "spans written") && time.Now().Before(deadline) {
				time.Sleep(50 * time.Millisecond)
			}
			spans := readOutput(t, out)
			checkServerSpans(t, spans, reqs, serverEnv{port: port, hasRoute: fx.hasRoute})
			checkProcessResource(t, spans, pid, l.server(), "")
			if pid > 10 {
				t.Errorf("the fixture's PID in the namespace is %d: not a new namespace?", pid)
			}
		})
	}

	refusals := []struct {
		name, script, want string
		code               int
	}{
		{"--binary", fmt.Sprintf("exec %s --binary %s", bin, l.server()), "--binary", 2},
		{"a host PID", fmt.Sprintf("exec %s -p %d", bin, os.Getpid()), "no such process", 3},
		{"a nested namespace", fmt.Sprintf("unshare --pid --fork %s & while [ ! -s %s ]; do sleep 0.1; done; "+
			"exec %s -p $(cat /proc/$!/task/$!/children)", fixtureArgs, portFile, bin), "nested", 2},
	}
	for i, r := range refusals {
		t.Run(r.name, func(t *testing.T) {
			os.Remove(portFile)
			p := l.start(t, fmt.Sprintf("refused%d", i), r.script)
			code := p.waitExit(t, readyTimeout)
			checkRefusal(t, r.script, code, p.stdout(), p.stderr(), r.code)
			if !strings.Contains(p.stderr(), r.want) {
				t.Errorf("stderr does not say %q", r.want)
			}
		})
	}
	t.Run("the host's /proc", func(t *testing.T) {
		args := []string{"unshare", "--pid", "--fork", bin, "-p", "1"}
		code, stdout, stderr := runOtrace(t, l.dir, "otrace-hostproc", args...)
		checkRefusal(t, strings.Join(args, " "), code, stdout, stderr, 1)
		if !strings.Contains(stderr, "/proc") {
			t.Errorf("stderr does not name /proc")
		}
	})
}
