package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"otrace.test/gotests/internal/tracetree"
)

// The kafka-go releases the tests build test/fixtures/kafkaapp with: the
// oldest and the newest the module proxy serves of v0.4.
var kafkaReleases = releasesFromEnv("OTRACE_KAFKA_RELEASES", "v0.4.42", "v0.4.51")

// The traceparent the producer puts into its messages, as an upstream
// instrumented service would: the consumer's receive spans link to it.
const kafkaTraceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"

var (
	kafkaBuildsMu sync.Mutex
	kafkaBuilds   = map[string]string{}
)

// goFixture builds test/fixtures/NAME, with its build.sh and args when it
// has one, else with go build, once per test binary run; key names the
// build. A file named key in OTRACE_PREBUILT is that build, made earlier.
func goFixture(t *testing.T, name, key string, args ...string) string {
	t.Helper()
	kafkaBuildsMu.Lock()
	defer kafkaBuildsMu.Unlock()
	if path, ok := kafkaBuilds[key]; ok {
		return path
	}
	if pre := os.Getenv("OTRACE_PREBUILT"); pre != "" && isFile(filepath.Join(pre, key)) {
		kafkaBuilds[key] = filepath.Join(pre, key)
		return kafkaBuilds[key]
	}
	dir, err := filepath.Abs(filepath.Join("..", "..", "fixtures", name))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(sharedDir, key)
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	var cmd *exec.Cmd
	if isFile(filepath.Join(dir, "build.sh")) {
		cmd = exec.CommandContext(ctx, "sh", append([]string{filepath.Join(dir, "build.sh"), "go", path}, args...)...)
	} else {
		cmd = exec.CommandContext(ctx, "go", "build", "-o", path, ".")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOWORK=off", "CGO_ENABLED=0")
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the %s fixture %v: %v\n%s", name, args, err, out)
	}
	kafkaBuilds[key] = path
	return path
}

// startKafka starts the kfake broker with topics; its address.
func startKafka(t *testing.T, topics ...string) string {
	t.Helper()
	bin := goFixture(t, "kfake", "kfake")
	dir := t.TempDir()
	portFile := filepath.Join(dir, "port")
	p := startProc(t, dir, "kfake", nil, bin, "-topics", strings.Join(topics, ","), "-port-file", portFile)
	t.Cleanup(func() {
		if !p.exited() {
			p.signal(t, syscall.SIGTERM)
			p.waitExit(t, exitTimeout)
		}
	})
	return fmt.Sprintf("127.0.0.1:%d", waitPortFile(t, portFile, p))
}

// TestKafka: kafka-go PRODUCER spans for each message written and receive
// spans for each message read (ReadMessage and FetchMessage), against a real
// Kafka protocol implementation, each a child of the HTTP request that
// made it, with the messaging semantic conventions' attributes and the
// broker's partition and offset; a received message that carries a
// traceparent links to it.
func TestKafka(t *testing.T) {
	bin := otraceBin(t)
	requireRoot(t)
	for _, release := range kafkaReleases {
		release := release
		t.Run(release, func(t *testing.T) {
			fx := goFixture(t, "kafkaapp", "kafkaapp-"+release, release)
			t.Run("plan", func(t *testing.T) { checkLibraryPlan(t, bin, fx, "kafka-go writer", 3) })
			t.Run("plan reader", func(t *testing.T) { checkLibraryPlan(t, bin, fx, "kafka-go reader", 2) })
			t.Run("spans", func(t *testing.T) { testKafkaSpans(t, bin, fx) })
		})
	}
}

type kafkaRequest struct {
	path, query string
	want        []kafkaSpan
}

type kafkaSpan struct {
	name   string
	offset string
	link   bool
}

var kafkaRequests = []kafkaRequest{
	{"/produce", "topic=orders&n=3&tag=o&traceparent=" + url.QueryEscape(kafkaTraceparent),
		[]kafkaSpan{{"send orders", "0", false}, {"send orders", "1", false}, {"send orders", "2", false}}},
	{"/produce", "topic=audit&n=1&tag=a", []kafkaSpan{{"send audit", "0", false}}},
	{"/consume", "topic=orders&offset=0&n=3&mode=read",
		[]kafkaSpan{{"receive orders", "0", true}, {"receive orders", "1", true}, {"receive orders", "2", true}}},
	{"/consume", "topic=audit&offset=0&n=1&mode=fetch", []kafkaSpan{{"receive audit", "0", false}}},
}

func testKafkaSpans(t *testing.T, bin, fx string) {
	broker := startKafka(t, "orders", "audit")
	dir := t.TempDir()
	out := filepath.Join(dir, "out.jsonl")
	portFile := filepath.Join(dir, "port")
	otrace := startProc(t, dir, "otrace", nil, bin, "-o", out, "--exec", fx, "-brokers", broker,
		"-port-file", portFile)
	port := waitPortFile(t, portFile, otrace)
	client := newClient()
	for i, r := range kafkaRequests {
		req, _ := http.NewRequest("GET", fmt.Sprintf("http://127.0.0.1:%d%s?%s", port, r.path, r.query), nil)
		req.Header.Set("User-Agent", fmt.Sprintf("kafkatest-%d", i))
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body map[string]any
		json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("%s?%s: %d %v", r.path, r.query, resp.StatusCode, body)
		}
	}
	client.CloseIdleConnections()
	otrace.signal(t, syscall.SIGTERM)
	otrace.expectExit(t, exitTimeout, 0)
	forest := readForest(t, otrace, out)
	for i, r := range kafkaRequests {
		ua := fmt.Sprintf("kafkatest-%d", i)
		server, err := forest.ServerSpan(r.path, tracetree.Attr("user_agent.original", ua))
		if err != nil {
			t.Errorf("%s: %v", ua, err)
			continue
		}
		checkKafkaChildren(t, r.path+"?"+r.query, server, r.want)
	}
	if t.Failed() {
		for _, n := range forest.Nodes() {
			t.Logf("%v parent=%v attrs=%v links=%d", n, n.Span.ParentSpanID(), n.Span.Attributes().AsRaw(),
				n.Span.Links().Len())
		}
	}
}

func checkKafkaChildren(t *testing.T, what string, server *tracetree.Node, want []kafkaSpan) {
	t.Helper()
	var kids []*tracetree.Node
	for _, c := range server.Children {
		if c.Span.Kind() == ptrace.SpanKindProducer || c.Span.Kind() == ptrace.SpanKindClient {
			kids = append(kids, c)
		}
	}
	if len(kids) != len(want) {
		t.Errorf("%s: %d messaging spans under the request, want %d: %v", what, len(kids), len(want), kids)
		return
	}
	// a batch's messages end together: in offset order
	sort.Slice(kids, func(i, j int) bool {
		return kids[i].Attr("messaging.kafka.offset") < kids[j].Attr("messaging.kafka.offset")
	})
	for i, c := range kids {
		w := want[i]
		op, topic, _ := strings.Cut(w.name, " ")
		kind := ptrace.SpanKindClient // a receive the program asks for: CLIENT (semconv)
		if op == "send" {
			kind = ptrace.SpanKindProducer
		}
		if c.Span.Name() != w.name || c.Span.Kind() != kind {
			t.Errorf("%s: %v, want %v %q", what, c, kind, w.name)
		}
		for key, v := range map[string]string{
			"messaging.system":                   "kafka",
			"messaging.operation.type":           op,
			"messaging.operation.name":           op,
			"messaging.destination.name":         topic,
			"messaging.destination.partition.id": "0",
			"messaging.kafka.offset":             w.offset,
		} {
			if got := c.Attr(key); got != v {
				t.Errorf("%s: %v: %s = %q, want %q", what, c, key, got, v)
			}
		}
		if c.Span.Status().Code() != ptrace.StatusCodeUnset {
			t.Errorf("%s: %v: status %v", what, c, c.Span.Status().Code())
		}
		links := c.Span.Links()
		if !w.link {
			if links.Len() != 0 {
				t.Errorf("%s: %v has %d links, want none", what, c, links.Len())
			}
			continue
		}
		if links.Len() != 1 {
			t.Errorf("%s: %v has %d links, want the message's traceparent", what, c, links.Len())
			continue
		}
		l := links.At(0)
		if l.TraceID().String() != "0af7651916cd43dd8448eb211c80319c" ||
			l.SpanID().String() != "b7ad6b7169203331" {
			t.Errorf("%s: %v links to %v/%v, want the message's traceparent %s", what, c,
				l.TraceID(), l.SpanID(), kafkaTraceparent)
		}
		if c.Span.TraceID() != server.Span.TraceID() {
			t.Errorf("%s: %v is not in its request's trace", what, c)
		}
	}
}

// TestKafkaStripped: a stripped build (-s -w) has no DWARF: kafka-go's
// fields come from the binary's type data, every probe planned and emulated,
// and the spans are the same.
func TestKafkaStripped(t *testing.T) {
	bin := otraceBin(t)
	requireRoot(t)
	release := kafkaReleases[len(kafkaReleases)-1]
	fx := goFixture(t, "kafkaapp", "kafkaapp-stripped-"+release, release, "-ldflags=-s -w")
	plan, stderr := listProbes(t, bin, fx)
	planned := 0
	for _, p := range plan.Probes {
		if !strings.HasPrefix(p.Library, "kafka-go") {
			continue
		}
		if !p.Planned || !p.Emulated {
			t.Fatalf("stripped: kafka-go probe %s at %s not planned or not emulated (%s):\n%s",
				p.Program, p.Symbol, p.Reason, stderr)
		}
		planned++
	}
	if planned == 0 {
		t.Fatalf("stripped: no kafka-go probe listed:\n%s", stderr)
	}
	testKafkaSpans(t, bin, fx)
}
