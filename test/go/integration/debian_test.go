package integration

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
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

// Programs from Debian's packages (scripts/setup.sh installs them): built by
// Debian with Go 1.19 in GOPATH mode, stripped, no module list in their build
// info: otrace has their symbols (.gopclntab) and runtime type data, nothing
// else.
const (
	nodeExporterBin = "/usr/bin/prometheus-node-exporter"
	hugoBin         = "/usr/bin/hugo"
	etcdBin         = "/usr/bin/etcd"
	etcdctlBin      = "/usr/bin/etcdctl"
	caddyBin        = "/usr/bin/caddy"
	prometheusBin   = "/usr/bin/prometheus"
)

func requireDebianProgram(t *testing.T, path, pkg string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("%s missing: install Debian's %s (scripts/setup.sh)", path, pkg)
	}
}

// tracedProgram is a Debian program run by otrace --exec.
type tracedProgram struct {
	otrace *proc
	out    string
}

func startTracedProgram(t *testing.T, bin, prog string, args ...string) *tracedProgram {
	t.Helper()
	dir := t.TempDir()
	p := &tracedProgram{out: filepath.Join(dir, "out.jsonl")}
	p.otrace = startProc(t, dir, "otrace", nil, bin, append([]string{"-o", p.out, "--exec", prog}, args...)...)
	return p
}

// stop ends the program through otrace (SIGTERM is forwarded) and returns
// its spans, every line read by the Collector's unmarshaler, the exit line's
// count matching. otrace exits as the program did: node_exporter and etcd
// die of the signal (128 + 15).
func (p *tracedProgram) stop(t *testing.T) []otlp.Span {
	t.Helper()
	p.otrace.signal(t, syscall.SIGTERM)
	if code := p.otrace.waitExit(t, exitTimeout); code != 0 && code != 128+int(syscall.SIGTERM) {
		t.Fatalf("otrace exited with %d, want 0 or %d\n%s", code, 128+int(syscall.SIGTERM),
			p.otrace.stderr())
	}
	spans := readOutput(t, p.out)
	checkSummary(t, p.otrace.stderr(), len(spans))
	return spans
}

// getUntilUp polls url until it answers (the server starts listening a
// while after otrace attached); the answered request counts as one.
func getUntilUp(t *testing.T, p *tracedProgram, url string) {
	t.Helper()
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(readyTimeout)
	for {
		resp, err := client.Get(url)
		if err == nil {
			drain(resp)
			return
		}
		if p.otrace.exited() || time.Now().After(deadline) {
			t.Fatalf("%s never answered: %v\notrace: %s", url, err, p.otrace.stderr())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// getStatus fetches url and returns its status.
func getStatus(t *testing.T, url string) int {
	t.Helper()
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Get(url)
	if err != nil {
		t.Fatal(err)
	}
	drain(resp)
	return resp.StatusCode
}

// drain reads the whole body: the server has finished the request (its span
// ended) before the last byte of a streamed answer is sent, not before the
// headers, and a request still running when the test stops the server would
// be no span.
func drain(resp *http.Response) {
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}

// programServerSpans: "path status" of every SERVER span, and a problem for each
// that is not a plain HTTP/1.1 server span.
func programServerSpans(t *testing.T, spans []otlp.Span) map[string]int {
	t.Helper()
	got := map[string]int{}
	for _, s := range spans {
		if s.Kind != 2 {
			continue
		}
		path, _ := s.Attributes["url.path"].(string)
		got[fmt.Sprintf("%s %v", path, s.Attributes["http.response.status_code"])]++
		if s.Attributes["http.request.method"] != "GET" || s.Attributes["network.protocol.version"] != "1.1" {
			t.Errorf("span %q: method %v, protocol %v", s.Name, s.Attributes["http.request.method"],
				s.Attributes["network.protocol.version"])
		}
	}
	return got
}

func checkProgramSpans(t *testing.T, spans []otlp.Span, want map[string]int) {
	t.Helper()
	got := programServerSpans(t, spans)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("server spans (path status: count) %v, want %v", got, want)
	}
}

// TestDebianPrograms: real servers as Debian ships them, traced: one SERVER
// span per HTTP request, with its path and status, from the Prometheus node
// exporter, `hugo server` and Caddy, whose reverse proxy's calls upstream
// are CLIENT spans, children of the request they serve; Prometheus, whose
// scrapes of itself are root CLIENT spans (no request is being served); and etcd's gRPC
// calls, made by etcdctl, as gRPC SERVER spans (rpc.method, status),
// etcdctl's own as CLIENT spans.
func TestDebianPrograms(t *testing.T) {
	bin := otraceBin(t)
	requireRoot(t)

	t.Run("prometheus-node-exporter", func(t *testing.T) {
		requireDebianProgram(t, nodeExporterBin, "prometheus-node-exporter")
		addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
		p := startTracedProgram(t, bin, nodeExporterBin, "--web.listen-address="+addr)
		getUntilUp(t, p, "http://"+addr+"/")
		for i := 0; i < 3; i++ {
			if code := getStatus(t, "http://"+addr+"/metrics"); code != 200 {
				t.Fatalf("/metrics: %d", code)
			}
		}
		checkProgramSpans(t, p.stop(t), map[string]int{"/ 200": 1, "/metrics 200": 3})
	})

	t.Run("hugo server", func(t *testing.T) {
		requireDebianProgram(t, hugoBin, "hugo")
		site := t.TempDir()
		files := map[string]string{
			"config.toml":                  "baseURL = \"http://127.0.0.1/\"\ntitle = \"otrace\"\ndisableKinds = [\"taxonomy\", \"term\", \"RSS\", \"sitemap\"]\n",
			"layouts/index.html":           "<html><body>{{ .Title }}</body></html>\n",
			"layouts/_default/single.html": "<html><body>{{ .Title }}: {{ .Content }}</body></html>\n",
			"content/page.md":              "---\ntitle: \"Page\"\n---\nhello\n",
		}
		for name, text := range files {
			path := filepath.Join(site, name)
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		port := freePort(t)
		base := fmt.Sprintf("http://127.0.0.1:%d", port)
		p := startTracedProgram(t, bin, hugoBin, "server", "--source", site, "--bind", "127.0.0.1",
			"--port", strconv.Itoa(port), "--disableLiveReload", "--watch=false")
		getUntilUp(t, p, base+"/")
		for path, want := range map[string]int{"/page/": 200, "/missing": 404} {
			if code := getStatus(t, base+path); code != want {
				t.Fatalf("%s: %d, want %d", path, code, want)
			}
		}
		checkProgramSpans(t, p.stop(t), map[string]int{"/ 200": 1, "/page/ 200": 1, "/missing 404": 1})
	})

	t.Run("caddy reverse proxy", func(t *testing.T) {
		requireDebianProgram(t, caddyBin, "caddy")
		testCaddy(t, bin, caddyBin, false)
	})

	t.Run("prometheus", func(t *testing.T) {
		requireDebianProgram(t, prometheusBin, "prometheus")
		dir := t.TempDir()
		listen := fmt.Sprintf("127.0.0.1:%d", freePort(t))
		config := fmt.Sprintf("global:\n  scrape_interval: 1s\nscrape_configs:\n"+
			"  - job_name: self\n    static_configs:\n      - targets: [%q]\n", listen)
		configPath := filepath.Join(dir, "prometheus.yml")
		if err := os.WriteFile(configPath, []byte(config), 0o644); err != nil {
			t.Fatal(err)
		}
		p := startTracedProgram(t, bin, prometheusBin, "--config.file="+configPath,
			"--storage.tsdb.path="+filepath.Join(dir, "data"), "--web.listen-address="+listen)
		base := "http://" + listen
		getUntilUp(t, p, base+"/-/ready")
		// until a scrape of itself has been stored
		queries := 0
		for deadline := time.Now().Add(readyTimeout); ; {
			resp, err := (&http.Client{Timeout: 5 * time.Second}).Get(base + "/api/v1/query?query=up")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			queries++
			if strings.Contains(string(body), `"value"`) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("no scrape stored: %s", body)
			}
			time.Sleep(200 * time.Millisecond)
		}
		spans := p.stop(t)
		servers := programServerSpans(t, spans)
		if servers["/-/ready 200"] < 1 || servers["/api/v1/query 200"] != queries {
			t.Errorf("server spans %v, want /-/ready and %d of /api/v1/query", servers, queries)
		}
		scrapes := 0
		for _, s := range spans {
			switch {
			case s.Kind == 2 && s.Attributes["url.path"] == "/api/v1/query":
				if q := s.Attributes["url.query"]; q != "query=up" {
					t.Errorf("/api/v1/query: url.query %v", q)
				}
			case s.Kind == 3:
				scrapes++
				if s.Attributes["url.full"] != base+"/metrics" || s.ParentSpanID != "" ||
					s.Attributes["http.response.status_code"] != int64(200) {
					t.Errorf("scrape: CLIENT span of %v, parent %q, status %v; want a root of /metrics, 200",
						s.Attributes["url.full"], s.ParentSpanID, s.Attributes["http.response.status_code"])
				}
			}
		}
		// a scrape in progress at the stop may have ended on one side only
		if served := servers["/metrics 200"]; scrapes < 1 || served < scrapes-1 || served > scrapes+1 {
			t.Errorf("%d scrapes as CLIENT spans, %d as SERVER spans", scrapes, served)
		}
	})

	t.Run("etcd", func(t *testing.T) {
		requireDebianProgram(t, etcdBin, "etcd-server")
		requireDebianProgram(t, etcdctlBin, "etcd-client")
		client := fmt.Sprintf("127.0.0.1:%d", freePort(t))
		peer := fmt.Sprintf("http://127.0.0.1:%d", freePort(t))
		p := startTracedProgram(t, bin, etcdBin, "--data-dir", filepath.Join(t.TempDir(), "data"),
			"--listen-client-urls", "http://"+client, "--advertise-client-urls", "http://"+client,
			"--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
			"--initial-cluster", "default="+peer)
		getUntilUp(t, p, "http://"+client+"/health")
		// etcdctl, traced too: its calls are gRPC CLIENT spans
		calls := [][]string{{"put", "otrace", "v"}, {"get", "otrace"}, {"del", "otrace"}}
		var clientSpans []otlp.Span
		for _, c := range calls {
			dir := t.TempDir()
			out := filepath.Join(dir, "out.jsonl")
			args := append([]string{"-o", out, "--exec", etcdctlBin, "--endpoints", client}, c...)
			cmd := exec.Command(bin, args...)
			cmd.Env = append(os.Environ(), "ETCDCTL_API=3")
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("otrace --exec etcdctl %s: %v\n%s", strings.Join(c, " "), err, b)
			}
			clientSpans = append(clientSpans, readOutput(t, out)...)
		}
		spans := p.stop(t)
		methods := []string{"etcdserverpb.KV/Put", "etcdserverpb.KV/Range", "etcdserverpb.KV/DeleteRange"}
		for _, m := range methods {
			for _, side := range []struct {
				kind  int
				spans []otlp.Span
			}{{2, spans}, {3, clientSpans}} {
				n := 0
				for _, s := range side.spans {
					if s.Kind == side.kind && s.Attributes["rpc.method"] == m {
						n++
						if s.Name != m || s.Attributes["rpc.system.name"] != "grpc" ||
							s.Attributes["rpc.response.status_code"] != "OK" || s.StatusCode == 2 {
							t.Errorf("%s span %q: system %v status %v (%d)", m, s.Name,
								s.Attributes["rpc.system.name"], s.Attributes["rpc.response.status_code"], s.StatusCode)
						}
					}
				}
				if n != 1 {
					t.Errorf("%d spans of kind %d for %s, want 1", n, side.kind, m)
				}
			}
		}
		// the health check is an HTTP request; nothing else was asked of etcd
		http := 0
		for _, s := range spans {
			if s.Attributes["url.path"] == "/health" {
				http++
			}
		}
		if http != 1 || len(spans) != len(methods)+1 {
			t.Errorf("etcd: %d spans (%d of /health), want the three calls' and one /health", len(spans), http)
			for _, s := range spans {
				t.Logf("span %q kind %d %v", s.Name, s.Kind, s.Attributes)
			}
		}
	})
}

// testCaddy runs the Caddy at caddy, traced, as a server with a static
// route and a reverse_proxy route to a test server: one SERVER span per
// request, url.query on the one with a query, and each proxied call a
// CLIENT span, the child of the request it proxies, in its trace. h2c: also
// a request over HTTP/2 with prior knowledge (the server then allows h2c),
// a SERVER span of protocol 2.
func testCaddy(t *testing.T, bin, caddy string, h2c bool) {
	t.Helper()
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/proxy/ok" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprintln(w, "upstream")
	}))
	defer upstream.Close()
	// no admin endpoint, no automatic HTTPS (which would install a root
	// certificate in the host's trust store), state in the test's directory
	dir := t.TempDir()
	t.Setenv("XDG_DATA_HOME", dir)
	t.Setenv("XDG_CONFIG_HOME", dir)
	listen := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	protocols := ""
	if h2c {
		protocols = `"protocols": ["h1", "h2", "h2c"],`
	}
	config := fmt.Sprintf(`{"admin": {"disabled": true},
		"storage": {"module": "file_system", "root": %q},
		"apps": {"http": {"servers": {"test": {"listen": [%q], %s
			"automatic_https": {"disable": true},
			"routes": [
				{"match": [{"path": ["/proxy/*"]}], "handle": [{"handler": "reverse_proxy",
					"upstreams": [{"dial": %q}]}]},
				{"handle": [{"handler": "static_response", "status_code": 200, "body": "caddy"}]}
			]}}}}}`, filepath.Join(dir, "data"), listen, protocols, strings.TrimPrefix(upstream.URL, "http://"))
	configPath := filepath.Join(dir, "caddy.json")
	if err := os.WriteFile(configPath, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	p := startTracedProgram(t, bin, caddy, "run", "--config", configPath)
	base := "http://" + listen
	getUntilUp(t, p, base+"/")
	for path, want := range map[string]int{"/static?q=1": 200, "/proxy/ok": 200, "/proxy/missing?z=2": 404} {
		if code := getStatus(t, base+path); code != want {
			t.Fatalf("%s: %d, want %d", path, code, want)
		}
	}
	if h2c {
		var protos http.Protocols
		protos.SetUnencryptedHTTP2(true)
		client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{Protocols: &protos}}
		resp, err := client.Get(base + "/h2c")
		if err != nil {
			t.Fatal(err)
		}
		drain(resp)
		if resp.ProtoMajor != 2 {
			t.Fatalf("/h2c answered over %s", resp.Proto)
		}
	}
	spans := p.stop(t)
	servers := map[string]otlp.Span{}
	paths := map[string]int{}
	for _, s := range spans {
		if path, _ := s.Attributes["url.path"].(string); s.Kind == 2 {
			servers[path] = s
			paths[fmt.Sprintf("%s %v %v", path, s.Attributes["http.response.status_code"],
				s.Attributes["network.protocol.version"])]++
		}
	}
	want := map[string]int{"/ 200 1.1": 1, "/static 200 1.1": 1, "/proxy/ok 200 1.1": 1,
		"/proxy/missing 404 1.1": 1}
	if h2c {
		want["/h2c 200 2"] = 1
	}
	if fmt.Sprint(paths) != fmt.Sprint(want) {
		t.Errorf("server spans (path status protocol: count) %v, want %v", paths, want)
	}
	if q := servers["/static"].Attributes["url.query"]; q != "q=1" {
		t.Errorf("/static?q=1: url.query %v", q)
	}
	// each proxied request's call upstream: its child, in its trace
	calls := 0
	for _, s := range spans {
		if s.Kind != 3 {
			continue
		}
		calls++
		full, _ := s.Attributes["url.full"].(string)
		path := strings.TrimPrefix(strings.SplitN(full, "?", 2)[0], upstream.URL)
		server, ok := servers[path]
		if !ok || s.TraceID != server.TraceID || s.ParentSpanID != server.SpanID {
			t.Errorf("CLIENT span %s (%s): trace %s parent %s, want the child of the request it proxies",
				s.Name, full, s.TraceID, s.ParentSpanID)
		}
	}
	if calls != 2 {
		t.Errorf("%d CLIENT spans, want the two proxied calls", calls)
	}
}
