package integration

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"

	"otrace.test/gotests/internal/otlp"
)

// A router and the releases its tests build test/fixtures/routers/<dir>
// with: the oldest otrace supports and the newest the module proxy served
// when the test was written.
type routerRelease struct {
	dir, library   string // fixture folder; the library in --list-probes
	module         string
	oldest, newest string
	// how the router spells a parameter and the fixture's wildcard route
	param    func(name string) string
	wildcard string
	pre      bool // the fixture also serves /pre/... (echo with pre-middleware)
}

var routerReleases = []routerRelease{
	{dir: "gin", library: "gin", module: "github.com/gin-gonic/gin", oldest: "v1.5.0", newest: "v1.12.0",
		param: colonParam, wildcard: "/files/*filepath"},
	{dir: "chi", library: "chi", module: "github.com/go-chi/chi/v5", oldest: "v5.0.0", newest: "v5.5.0",
		param: braceParam, wildcard: "/files/*"},
	{dir: "gorilla_mux", library: "gorilla/mux", module: "github.com/gorilla/mux", oldest: "v1.7.4", newest: "v1.8.1",
		param: braceParam, wildcard: "/files/"},
	{dir: "echo", library: "echo", module: "github.com/labstack/echo/v4", oldest: "v4.0.0", newest: "v4.16.5",
		param: colonParam, wildcard: "/files/*", pre: true},
}

func colonParam(name string) string { return ":" + name }
func braceParam(name string) string { return "{" + name + "}" }

var (
	routerBuildsMu sync.Mutex
	routerBuilds   = map[string]string{}
)

// routerFixture builds a router fixture against a release of its router
// (and go build flags), once per test binary run.
func routerFixture(t *testing.T, dir, release string, buildFlags ...string) string {
	t.Helper()
	routerBuildsMu.Lock()
	defer routerBuildsMu.Unlock()
	key := dir + "-" + release + strings.NewReplacer(" ", "", "=", "").Replace(strings.Join(buildFlags, ""))
	if path, ok := routerBuilds[key]; ok {
		return path
	}
	script, err := filepath.Abs(filepath.Join("..", "..", "fixtures", "routers", "build.sh"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(sharedDir, key)
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	args := append([]string{script, dir, "go", path, release}, buildFlags...)
	if out, err := exec.CommandContext(ctx, "sh", args...).CombinedOutput(); err != nil {
		t.Fatalf("building the %s fixture with %s: %v\n%s", dir, release, err, out)
	}
	routerBuilds[key] = path
	return path
}

// routeWant is a request to a router fixture and its server span: route ""
// means the span has no http.route and its name is the method alone.
type routeWant struct {
	method, target, route string
	status                int
}

// routeWants lists the fixture's requests (test/fixtures/routers/serve) with
// the route each router must give them.
func routeWants(r routerRelease) []routeWant {
	wants := []routeWant{
		{"GET", "/health", "/health", 200},
		{"GET", "/users/42", "/users/" + r.param("id"), 200},
		{"POST", "/users", "/users", 200},
		{"GET", "/api/v1/items/7", "/api/v1/items/" + r.param("item"), 200},
		{"GET", "/files/a/b.txt", r.wildcard, 200},
		// the handler rewrites r.URL.Path: neither route nor url.path follow
		{"GET", "/rewrite/5", "/rewrite/" + r.param("id"), 200},
		// the router's 404: no route, though ServeMux matched "/" (Go >= 1.22)
		{"GET", "/nope", "", 404},
		// behind ServeMux's "/v2/" and StripPrefix: the router's route wins
		{"GET", "/v2/users/9", "/users/" + r.param("id"), 200},
		{"GET", "/v2/nope", "", 404},
	}
	if r.pre {
		wants = append(wants,
			routeWant{"GET", "/pre/users/3", "/users/" + r.param("id"), 200},
			routeWant{"GET", "/pre/api/v1/items/8", "/api/v1/items/" + r.param("item"), 200},
			routeWant{"GET", "/pre/nope", "", 404})
	}
	return wants
}

// TestRouters: the route each router matched is the server span's
// http.route and in its name, exactly, for the oldest and the newest
// release of each router and a stripped build of the newest; a request the
// router finds no route for has none, whatever ServeMux matched.
func TestRouters(t *testing.T) {
	bin := otraceBin(t)
	requireRoot(t)
	for _, r := range routerReleases {
		r := r
		for _, release := range []string{r.oldest, r.newest} {
			t.Run(r.dir+"-"+release, func(t *testing.T) {
				testRouter(t, bin, r, routerFixture(t, r.dir, release))
			})
		}
		t.Run(r.dir+"-"+r.newest+"-stripped", func(t *testing.T) {
			testRouter(t, bin, r, routerFixture(t, r.dir, r.newest, strippedFlags...))
		})
	}
}

var invalidRE = regexp.MustCompile(`(?m)^otrace: (\d+) values not recorded`)

func testRouter(t *testing.T, bin string, r routerRelease, fixturePath string) {
	checkRouterPlan(t, bin, r, fixturePath)
	dir := t.TempDir()
	out := filepath.Join(dir, "out.jsonl")
	portFile := filepath.Join(dir, "port")
	target := startProc(t, dir, "fixture", nil, fixturePath, "-portfile", portFile)
	port := waitPortFile(t, portFile, target)
	otrace := attachPID(t, dir, bin, target.pid(), nil, "-o", out)

	wants := routeWants(r)
	client := newClient()
	for i, w := range wants {
		req, err := http.NewRequest(w.method, fmt.Sprintf("http://127.0.0.1:%d%s", port, w.target), nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("User-Agent", fmt.Sprintf("routers-%d", i))
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", w.method, w.target, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != w.status {
			t.Fatalf("%s %s: status %d, want %d", w.method, w.target, resp.StatusCode, w.status)
		}
	}
	otrace.signal(t, syscall.SIGINT)
	otrace.expectExit(t, exitTimeout, 0)

	spans := readOutput(t, out)
	for i, w := range wants {
		checkRouteSpan(t, spans, fmt.Sprintf("routers-%d", i), w)
	}
	checkSummary(t, otrace.stderr(), len(wants))
	if m := invalidRE.FindStringSubmatch(otrace.stderr()); m == nil || m[1] != "0" {
		t.Errorf("otrace left values out: %q", m)
	}
}

func checkRouteSpan(t *testing.T, spans []otlp.Span, ua string, w routeWant) {
	t.Helper()
	s, ok := serverSpanByUA(spans, ua)
	if !ok {
		t.Errorf("%s %s: no server span", w.method, w.target)
		return
	}
	name := w.method
	if w.route != "" {
		name += " " + w.route
	}
	if s.Name != name {
		t.Errorf("%s %s: span name %q, want %q", w.method, w.target, s.Name, name)
	}
	route, has := s.Attributes["http.route"]
	switch {
	case w.route == "" && has:
		t.Errorf("%s %s: http.route %q, want none (the router matched no route)", w.method, w.target, route)
	case w.route != "" && route != w.route:
		t.Errorf("%s %s: http.route %v, want %q", w.method, w.target, route, w.route)
	}
	// url.path as the request arrived, whatever the handler or StripPrefix did
	if p := s.Attributes["url.path"]; p != w.target {
		t.Errorf("%s %s: url.path %v, want %q", w.method, w.target, p, w.target)
	}
	if code := s.Attributes["http.response.status_code"]; code != int64(w.status) {
		t.Errorf("%s %s: http.response.status_code %v, want %d", w.method, w.target, code, w.status)
	}
}

// checkRouterPlan: --list-probes shows the router's probes, every one
// planned on an instruction the kernel emulates (or listed unplanned with
// the reason another serves instead), every field known.
func checkRouterPlan(t *testing.T, bin string, r routerRelease, fixturePath string) {
	t.Helper()
	plan, stderr := listProbes(t, bin, fixturePath)
	if strings.Contains(stderr, r.library+":") {
		t.Errorf("--list-probes warns about %s:\n%s", r.library, stderr)
	}
	planned := 0
	for _, p := range plan.Probes {
		if p.Library != r.library {
			continue
		}
		switch {
		case p.Planned && !p.Emulated:
			t.Errorf("%s %s at %q is single-stepped", p.Program, p.Symbol, p.Instruction)
		case p.Planned:
			planned++
		default:
			t.Logf("%s %s not planned: %s", p.Program, p.Symbol, p.Reason)
		}
	}
	if planned == 0 {
		t.Errorf("no %s probe planned", r.library)
	}
	if plan.SingleStepped != 0 {
		t.Errorf("the plan single-steps %d probes", plan.SingleStepped)
	}
	for _, f := range plan.Fields {
		if strings.HasPrefix(f.Struct, r.module+".") && f.Source == nil {
			t.Errorf("field %s unknown", f)
		}
	}
}

// TestRoutersUnsupported: a router release otrace does not read leaves its
// routes out with a warning naming what is missing (gin before 1.5 has no
// Context.fullPath; gorilla/mux before 1.7.4 no requestWithRoute), and its
// probes listed unplanned or absent; the binary is still traced.
func TestRoutersUnsupported(t *testing.T) {
	bin := otraceBin(t)
	requireRoot(t)
	for _, c := range []struct{ dir, library, release, warning string }{
		{"gin", "gin", "v1.4.0", "gin: field github.com/gin-gonic/gin.Context.fullPath unknown"},
		{"gorilla_mux", "gorilla/mux", "v1.7.3", "gorilla/mux: github.com/gorilla/mux.requestWithRoute not found"},
	} {
		t.Run(c.dir+"-"+c.release, func(t *testing.T) {
			plan, stderr := listProbes(t, bin, routerFixture(t, c.dir, c.release))
			if !strings.Contains(stderr, c.warning) {
				t.Errorf("--list-probes does not warn %q:\n%s", c.warning, stderr)
			}
			served := false
			for _, p := range plan.Probes {
				if p.Library == c.library && p.Planned {
					t.Errorf("%s %s planned", p.Program, p.Symbol)
				}
				served = served || (p.Library == "net/http server" && p.Planned)
			}
			if !served {
				t.Errorf("the net/http server is not traced")
			}
		})
	}
}
