package integration

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// A bucket of ctx_spans, the request contexts' registry (bpf/core/common.bpf.h),
// begins with its ctxWays tags of 8 bytes each; a tag is 0 when its way is free.
const ctxWays = 8

// bpfMapEntries counts the entries of every hash map process pid holds,
// by map name (found through /proc/PID/fdinfo and bpftool), and the ways
// of ctx_spans, an array, that hold a context.
func bpfMapEntries(t *testing.T, pid int) map[string]int {
	t.Helper()
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fdinfo", pid))
	if err != nil {
		t.Fatal(err)
	}
	idRE := regexp.MustCompile(`(?m)^map_id:\s+(\d+)$`)
	out := map[string]int{}
	for _, fd := range fds {
		info, err := os.ReadFile(fmt.Sprintf("/proc/%d/fdinfo/%s", pid, fd.Name()))
		if err != nil {
			continue
		}
		m := idRE.FindSubmatch(info)
		if m == nil {
			continue
		}
		show, err := exec.Command("bpftool", "-j", "map", "show", "id", string(m[1])).Output()
		if err != nil {
			t.Fatalf("bpftool map show id %s: %v", m[1], err)
		}
		var meta struct {
			Name string `json:"name"`
			Type string `json:"type"`
		}
		if err := json.Unmarshal(show, &meta); err != nil {
			t.Fatal(err)
		}
		registry := meta.Type == "array" && meta.Name == "ctx_spans"
		if meta.Type != "lru_hash" && meta.Type != "hash" && !registry {
			continue
		}
		dump, err := exec.Command("bpftool", "-j", "map", "dump", "id", string(m[1])).Output()
		if err != nil {
			t.Fatalf("bpftool map dump id %s: %v", m[1], err)
		}
		var entries []struct {
			Value []string `json:"value"` // bytes, "0x.."
		}
		if err := json.Unmarshal(dump, &entries); err != nil {
			t.Fatal(err)
		}
		if !registry {
			out[meta.Name] = len(entries)
			continue
		}
		out[meta.Name] = 0
		for _, e := range entries {
			if len(e.Value) < ctxWays*8 {
				t.Fatalf("ctx_spans: a bucket of %d bytes, less than its tags", len(e.Value))
			}
			for w := 0; w < ctxWays*8; w += 8 {
				for _, b := range e.Value[w : w+8] {
					if b != "0x00" {
						out[meta.Name]++
						break
					}
				}
			}
		}
	}
	return out
}

func rssKB(t *testing.T, pid int) int {
	t.Helper()
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^VmRSS:\s+(\d+) kB`).FindSubmatch(status)
	if m == nil {
		t.Fatal("no VmRSS")
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}

// TestSoak: a bounded soak of OTRACE_SOAK_REQUESTS requests (ctest's soak
// test sets 1,000,000), a mix of plain requests, requests making client
// calls, panicking handlers and fresh connections. otrace's memory and every
// in-flight map must stay bounded, the context registry must drain, and no
// span may be lost. Skipped unless OTRACE_SOAK_REQUESTS is set.
func TestSoak(t *testing.T) {
	total, _ := strconv.Atoi(os.Getenv("OTRACE_SOAK_REQUESTS"))
	if total <= 0 {
		t.Skip("OTRACE_SOAK_REQUESTS not set")
	}
	bin := otraceBin(t)
	requireRoot(t)
	fx := fixture(t)
	dir := t.TempDir()
	target, port := startFixture(t, dir, fx)
	otrace := attachPID(t, dir, bin, target.pid(), nil, "-o", "/dev/null")

	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	const workers = 8
	var sent, clientCalls, panics atomic.Int64
	var next atomic.Int64
	var rssAtTenth int
	var rssOnce sync.Once
	var wg sync.WaitGroup
	start := time.Now()
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
			fresh := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
			for {
				i := next.Add(1)
				if i > int64(total) {
					return
				}
				if i == int64(total)/10 {
					rssOnce.Do(func() { rssAtTenth = rssKB(t, otrace.pid()) })
				}
				var url string
				c := client
				switch {
				case i%1000 == 0:
					url, c = base+"/panic", fresh
					panics.Add(1)
				case i%100 == 0:
					url = base + "/call?to=" + base + "/hello"
					clientCalls.Add(1)
				case i%50 == 0:
					url, c = base+"/items/"+strconv.FormatInt(i, 10), fresh
				default:
					url = base + "/hello"
				}
				resp, err := c.Get(url)
				if err != nil {
					if strings.HasSuffix(url, "/panic") {
						sent.Add(1)
						continue
					}
					errs <- fmt.Errorf("request %d (%s): %v", i, url, err)
					return
				}
				resp.Body.Close()
				sent.Add(1)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	time.Sleep(200 * time.Millisecond) // the last spans reach otrace
	maps := bpfMapEntries(t, otrace.pid())
	rssEnd := rssKB(t, otrace.pid())
	t.Logf("%d requests (%d with a client call, %d panics) in %v (%.0f/s); otrace RSS %d kB at 10%%, %d kB at the end; map entries %v",
		sent.Load(), clientCalls.Load(), panics.Load(), elapsed.Round(time.Millisecond),
		float64(sent.Load())/elapsed.Seconds(), rssAtTenth, rssEnd, maps)

	otrace.signal(t, syscall.SIGINT)
	otrace.expectExit(t, exitTimeout, 0)
	m := summaryRE.FindStringSubmatch(otrace.stderr())
	if m == nil {
		t.Fatalf("no summary line: %s", otrace.stderr())
	}
	written, _ := strconv.ParseInt(m[1], 10, 64)
	// every request a server span, every /call one client and one more server span
	if want := sent.Load() + 2*clientCalls.Load(); written != want || m[2] != "0" {
		t.Errorf("summary %q: want %d spans written and none lost", m[0], want)
	}
	if rssEnd > rssAtTenth+8*1024 {
		t.Errorf("otrace RSS grew from %d kB (10%% of the load) to %d kB", rssAtTenth, rssEnd)
	}
	// all requests are over: no context may stay registered
	if n := maps["ctx_spans"]; n > 0 {
		t.Errorf("%d request contexts still registered after the load", n)
	}
	// one entry per goroutine that served or called: bounded by the goroutines
	// that existed, far below the number of requests
	limit := int(panics.Load()) + int(sent.Load())/50 + 4*workers + 64
	for _, name := range []string{"goroutine_spans", "http_client_inf"} {
		if maps[name] > limit {
			t.Errorf("map %s holds %d entries after %d requests (limit %d)", name, maps[name], sent.Load(), limit)
		}
	}
}
