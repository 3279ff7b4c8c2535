package integration

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"otrace.test/gotests/internal/otlp"
)

// The export tests send otrace's spans to otlprecv (test/otlprecv): the
// OpenTelemetry Collector's own OTLP/HTTP receiver, which decodes every
// request into pdata the way a real Collector does and records it.

var (
	recvOnce sync.Once
	recvPath string
	recvErr  error
)

// otlprecvBin builds test/otlprecv once per test binary run (its own module:
// the receiver needs a newer pdata than this one).
func otlprecvBin(t *testing.T) string {
	t.Helper()
	recvOnce.Do(func() {
		src, err := filepath.Abs(filepath.Join("..", "..", "otlprecv"))
		if err != nil {
			recvErr = err
			return
		}
		recvPath = filepath.Join(sharedDir, "otlprecv")
		ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
		defer cancel()
		cmd := exec.CommandContext(ctx, "go", "build", "-o", recvPath, ".")
		cmd.Dir = src
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOWORK=off", "GOFLAGS=-buildvcs=false")
		if out, err := cmd.CombinedOutput(); err != nil {
			recvErr = fmt.Errorf("building %s: %v\n%s", src, err, out)
		}
	})
	if recvErr != nil {
		t.Fatal(recvErr)
	}
	return recvPath
}

// receiver is one otlprecv process and the files it records into.
type receiver struct {
	p         *proc
	port      int
	out, meta string
}

// startReceiver starts otlprecv (args: more of its flags) and waits for its port.
func startReceiver(t *testing.T, dir, name string, args ...string) *receiver {
	t.Helper()
	r := &receiver{out: filepath.Join(dir, name+".jsonl"), meta: filepath.Join(dir, name+".meta")}
	portFile := filepath.Join(dir, name+".port")
	os.Remove(portFile)
	args = append([]string{"-portfile", portFile, "-out", r.out, "-meta", r.meta}, args...)
	r.p = startProc(t, dir, name, nil, otlprecvBin(t), args...)
	r.port = waitPortFile(t, portFile, r.p)
	return r
}

func (r *receiver) stop(t *testing.T) {
	t.Helper()
	r.p.signal(t, syscall.SIGTERM)
	r.p.expectExit(t, exitTimeout, 0)
}

// requests returns the traces of every request the receiver accepted.
func (r *receiver) requests(t *testing.T) []ptrace.Traces {
	t.Helper()
	f, err := os.Open(r.out)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var tds []ptrace.Traces
	err = otlp.ReadLines(f, func(_ int, td ptrace.Traces) error {
		tds = append(tds, td)
		return nil
	}, func(e *otlp.LineError) { t.Errorf("%s:%v", r.out, e) })
	if err != nil {
		t.Fatal(err)
	}
	return tds
}

func (r *receiver) spans(t *testing.T) []otlp.Span {
	t.Helper()
	var spans []otlp.Span
	for _, td := range r.requests(t) {
		spans = append(spans, otlp.Flatten(td)...)
	}
	return spans
}

// recvMeta is what otlprecv noted about one request.
type recvMeta struct {
	Spans   int                 `json:"spans"`
	Headers map[string][]string `json:"headers"`
}

func (r *receiver) metas(t *testing.T) []recvMeta {
	t.Helper()
	f, err := os.Open(r.meta)
	if os.IsNotExist(err) {
		return nil // not started yet
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []recvMeta
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var m recvMeta
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("%s: %v", r.meta, err)
		}
		out = append(out, m)
	}
	return out
}

// waitSpans waits until the receiver has at least n spans and returns how many.
func (r *receiver) waitSpans(t *testing.T, n int, timeout time.Duration) int {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		got := 0
		for _, m := range r.metas(t) {
			got += m.Spans
		}
		if got >= n || time.Now().After(deadline) {
			return got
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// exportSummary is otrace's exit line for the export.
type exportSummary struct {
	exported, lost int
	reasons        map[string]int
}

var exportRE = regexp.MustCompile(`(?m)^otrace: (\d+) spans exported to (\S+), (\d+) lost \(([^)]*)\)`)

func parseExportSummary(t *testing.T, stderr string) exportSummary {
	t.Helper()
	m := exportRE.FindAllStringSubmatch(stderr, -1)
	if len(m) != 1 {
		t.Fatalf("want exactly one export summary line on stderr, found %d:\n%s", len(m), stderr)
	}
	t.Logf("%s", m[0][0])
	s := exportSummary{reasons: map[string]int{}}
	s.exported, _ = strconv.Atoi(m[0][1])
	s.lost, _ = strconv.Atoi(m[0][3])
	sum := 0
	for _, kv := range strings.Fields(m[0][4]) {
		k, v, _ := strings.Cut(kv, "=")
		n, err := strconv.Atoi(v)
		if err != nil {
			t.Fatalf("summary %q: %q is not reason=count", m[0][0], kv)
		}
		s.reasons[k] = n
		sum += n
	}
	if sum != s.lost {
		t.Errorf("summary %q: the reasons add up to %d, not %d", m[0][0], sum, s.lost)
	}
	return s
}

// checkAllExported: n spans served, n exported by otrace's account, n received.
func checkAllExported(t *testing.T, sum exportSummary, got []otlp.Span, n int) {
	t.Helper()
	if sum.exported != n || len(got) != n || sum.lost != 0 {
		t.Errorf("%d spans served: otrace says %d exported, %d lost; the receiver got %d", n, sum.exported, sum.lost, len(got))
	}
}

// hellos returns n GET /hello requests: one server span each.
func hellos(n int) []*request {
	reqs := make([]*request, n)
	for i := range reqs {
		reqs[i] = newRequest("GET", "/hello", 200, "/hello")
	}
	return reqs
}

// exportRun is one traced fixture whose spans otrace exported.
type exportRun struct {
	sum    exportSummary
	otrace *proc
	env    serverEnv
}

// runExport traces the fixture with extra otrace options, sends reqs and
// stops otrace.
func runExport(t *testing.T, dir string, reqs []*request, extra ...string) exportRun {
	t.Helper()
	bin := otraceBin(t)
	requireRoot(t)
	fx := fixture(t)
	target, port := startFixture(t, dir, fx)
	ot := attachPID(t, dir, bin, target.pid(), nil, extra...)
	sendAll(t, newClient(), port, reqs)
	ot.signal(t, syscall.SIGINT)
	ot.expectExit(t, 2*exitTimeout, 0)
	return exportRun{parseExportSummary(t, ot.stderr()), ot, serverEnv{port: port, hasRoute: fx.hasRoute}}
}

// TestExportProtobuf: the default protocol, with JSON lines written at the
// same time. What the Collector's receiver decodes from otrace's protobuf is
// what its JSON decoder reads from the lines, span for span, and the spans
// meet the HTTP semantic conventions checked for the lines elsewhere.
func TestExportProtobuf(t *testing.T) {
	dir := t.TempDir()
	recv := startReceiver(t, dir, "recv")
	out := filepath.Join(dir, "out.jsonl")
	reqs := mixedRequests(60)
	run := runExport(t, dir, reqs, "-o", out,
		"--otlp-endpoint", fmt.Sprintf("http://127.0.0.1:%d", recv.port))
	sum := run.sum

	lines := readOutput(t, out)
	checkSummary(t, run.otrace.stderr(), len(lines))
	got := recv.spans(t)
	if sum.exported != len(got) || sum.lost != 0 {
		t.Errorf("otrace says %d exported, %d lost; the receiver got %d", sum.exported, sum.lost, len(got))
	}
	if len(got) != len(lines) {
		t.Fatalf("the receiver got %d spans, the JSON lines hold %d", len(got), len(lines))
	}
	checkServerSpans(t, got, reqs, run.env)
	bySpanID := map[string]otlp.Span{}
	for _, s := range lines {
		bySpanID[s.SpanID] = s
	}
	for _, s := range got {
		if want, ok := bySpanID[s.SpanID]; !ok {
			t.Errorf("span %s %q was exported but not written", s.SpanID, s.Name)
		} else if !reflect.DeepEqual(s, want) {
			t.Errorf("span %s differs:\nexported %+v\nwritten  %+v", s.SpanID, s, want)
		}
	}
	for _, m := range recv.metas(t) {
		if ct := strings.Join(m.Headers["content-type"], ","); ct != "application/x-protobuf" {
			t.Errorf("Content-Type %q, want application/x-protobuf", ct)
		}
	}
}

// TestExportJSONGzipHeaders: http/json with gzip and the user's headers;
// nothing on stdout when no -o is given.
func TestExportJSONGzipHeaders(t *testing.T) {
	dir := t.TempDir()
	recv := startReceiver(t, dir, "recv")
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", fmt.Sprintf("http://127.0.0.1:%d", recv.port))
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/json")
	t.Setenv("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip")
	t.Setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-tenant=acme, Authorization=Bearer%20s3cr%3Dt")
	reqs := hellos(40)
	run := runExport(t, dir, reqs)
	sum := run.sum

	got := recv.spans(t)
	checkAllExported(t, sum, got, len(reqs))
	checkServerSpans(t, got, reqs, run.env)
	for _, m := range recv.metas(t) {
		for k, want := range map[string]string{
			"x-tenant":         "acme",
			"authorization":    "Bearer s3cr=t",
			"content-type":     "application/json",
			"content-encoding": "gzip",
		} {
			if got := strings.Join(m.Headers[k], ","); got != want {
				t.Errorf("header %s: %q, want %q", k, got, want)
			}
		}
	}
	if out := run.otrace.stdout(); out != "" {
		t.Errorf("stdout must stay empty when spans are only exported, got %q", clip(out, 300))
	}
}

// TestExportRetryAfter: the receiver refuses twice as a full Collector does
// (503, Retry-After); otrace waits and sends again, and nothing is lost.
func TestExportRetryAfter(t *testing.T) {
	dir := t.TempDir()
	recv := startReceiver(t, dir, "recv", "-unavailable", "2", "-retry-after", "1s")
	reqs := hellos(30)
	run := runExport(t, dir, reqs, "--otlp-endpoint", fmt.Sprintf("http://127.0.0.1:%d", recv.port))
	checkAllExported(t, run.sum, recv.spans(t), len(reqs))
	if !strings.Contains(run.otrace.stderr(), "HTTP 503") {
		t.Errorf("otrace did not say the receiver answered 503:\n%s", run.otrace.stderr())
	}
}

// TestExportReceiverDown: the receiver is down for 10 s, then back. Spans
// within the queue bound all arrive; past the bound they are dropped and
// counted, exactly: what was exported is what the receiver got, and
// exported + queue_full is every span served.
func TestExportReceiverDown(t *testing.T) {
	bin := otraceBin(t)
	requireRoot(t)
	fx := fixture(t)
	dir := t.TempDir()
	first := startReceiver(t, dir, "recv1")
	port := first.port
	first.stop(t)
	target, fport := startFixture(t, dir, fx)
	ot := attachPID(t, dir, bin, target.pid(), nil, "--otlp-queue-spans", "100",
		"--otlp-endpoint", fmt.Sprintf("http://127.0.0.1:%d", port))
	client := newClient()

	// within the bound: 50 spans wait out 10 s without a receiver
	sendAll(t, client, fport, hellos(50))
	time.Sleep(10 * time.Second)
	second := startReceiver(t, dir, "recv2", "-addr", fmt.Sprintf("127.0.0.1:%d", port))
	if got := second.waitSpans(t, 50, 30*time.Second); got != 50 {
		t.Fatalf("after the receiver came back it got %d spans, want the 50 queued", got)
	}
	second.stop(t)

	// beyond the bound: 300 spans, room for 100
	sendAll(t, client, fport, hellos(300))
	time.Sleep(time.Second)
	third := startReceiver(t, dir, "recv3", "-addr", fmt.Sprintf("127.0.0.1:%d", port))
	ot.signal(t, syscall.SIGINT)
	ot.expectExit(t, 2*exitTimeout, 0)
	sum := parseExportSummary(t, ot.stderr())
	received := len(second.spans(t)) + len(third.spans(t))
	if sum.exported != received {
		t.Errorf("otrace says %d exported, the receiver got %d", sum.exported, received)
	}
	if sum.exported+sum.reasons["queue_full"] != 350 {
		t.Errorf("exported %d + queue_full %d != 350 spans served", sum.exported, sum.reasons["queue_full"])
	}
	if sum.reasons["queue_full"] < 200 || sum.lost != sum.reasons["queue_full"] {
		t.Errorf("lost %d, %v: want at least 200, all queue_full", sum.lost, sum.reasons)
	}
}

// TestExportUnreachable: an endpoint nobody listens on is not an error at
// start (it may come up later); the spans are retried until the flush
// deadline, then counted as export_failed.
func TestExportUnreachable(t *testing.T) {
	dir := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	reqs := hellos(20)
	run := runExport(t, dir, reqs, "--otlp-flush-timeout", "1000",
		"--otlp-endpoint", fmt.Sprintf("http://127.0.0.1:%d", port))
	if run.sum.exported != 0 || run.sum.reasons["export_failed"] != len(reqs) {
		t.Errorf("want %d export_failed, got %d exported, %v", len(reqs), run.sum.exported, run.sum.reasons)
	}
	if !strings.Contains(run.otrace.stderr(), "cannot connect") {
		t.Errorf("otrace did not say it cannot connect:\n%s", run.otrace.stderr())
	}
}

// TestExportResourceAttributes: the traced process's OTEL_SERVICE_NAME and
// OTEL_RESOURCE_ATTRIBUTES win over otrace's own, --resource over both;
// host.id is the machine-id; resource and scope name the semantic
// conventions' schema.
func TestExportResourceAttributes(t *testing.T) {
	bin := otraceBin(t)
	requireRoot(t)
	fx := fixture(t)
	dir := t.TempDir()
	recv := startReceiver(t, dir, "recv")
	t.Setenv("OTEL_SERVICE_NAME", "checkout")
	t.Setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment.name=staging,team=payments")
	target, port := startFixture(t, dir, fx)
	t.Setenv("OTEL_SERVICE_NAME", "otrace-own")
	t.Setenv("OTEL_RESOURCE_ATTRIBUTES", "team=platform,region=eu%2Dwest%2D1")
	ot := attachPID(t, dir, bin, target.pid(), nil, "--resource", "k8s.cluster.name=c1",
		"--otlp-endpoint", fmt.Sprintf("http://127.0.0.1:%d", recv.port))
	sendAll(t, newClient(), port, hellos(5))
	ot.signal(t, syscall.SIGINT)
	ot.expectExit(t, 2*exitTimeout, 0)

	machineID, _ := os.ReadFile("/etc/machine-id")
	want := map[string]any{
		"service.name":                "checkout",
		"team":                        "payments",
		"deployment.environment.name": "staging",
		"region":                      "eu-west-1",
		"k8s.cluster.name":            "c1",
		"process.pid":                 int64(target.pid()),
		"host.id":                     strings.TrimSpace(string(machineID)),
		"telemetry.sdk.name":          "otrace",
	}
	tds := recv.requests(t)
	if len(tds) == 0 {
		t.Fatal("the receiver got nothing")
	}
	for _, td := range tds {
		for i := 0; i < td.ResourceSpans().Len(); i++ {
			rs := td.ResourceSpans().At(i)
			if !strings.HasPrefix(rs.SchemaUrl(), "https://opentelemetry.io/schemas/1.") {
				t.Errorf("resource schemaUrl %q", rs.SchemaUrl())
			}
			for j := 0; j < rs.ScopeSpans().Len(); j++ {
				if u := rs.ScopeSpans().At(j).SchemaUrl(); u != rs.SchemaUrl() {
					t.Errorf("scope schemaUrl %q, resource's %q", u, rs.SchemaUrl())
				}
			}
		}
	}
	for _, s := range otlp.Flatten(tds[0]) {
		for k, v := range want {
			if k == "host.id" && v == "" {
				continue // no machine-id here
			}
			if got := s.Resource[k]; got != v {
				t.Errorf("resource %s = %#v, want %#v (resource %v)", k, got, v, s.Resource)
			}
		}
	}
}

// testPKI writes a CA, a server certificate for localhost and 127.0.0.1,
// and a client certificate, all made here, into dir.
func testPKI(t *testing.T, dir string) (ca, cert, key, clientCert, clientKey string) {
	t.Helper()
	newKey := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	write := func(name, typ string, der []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	writeKey := func(name string, k *ecdsa.PrivateKey) string {
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return write(name, "PRIVATE KEY", der)
	}
	now := time.Now()
	caKey := newKey()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "otrace test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	issue := func(serial int64, name string, usage x509.ExtKeyUsage) ([]byte, *ecdsa.PrivateKey) {
		k := newKey()
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
			DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &k.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		return der, k
	}
	serverDER, serverKey := issue(2, "localhost", x509.ExtKeyUsageServerAuth)
	clientDER, ck := issue(3, "otrace", x509.ExtKeyUsageClientAuth)
	return write("ca.pem", "CERTIFICATE", caDER),
		write("server.pem", "CERTIFICATE", serverDER), writeKey("server-key.pem", serverKey),
		write("client.pem", "CERTIFICATE", clientDER), writeKey("client-key.pem", ck)
}

// TestExportHTTPS: a receiver with a certificate from a test CA, requiring
// client certificates; otrace trusts the CA through
// OTEL_EXPORTER_OTLP_CERTIFICATE and checks the host name (localhost, from
// /etc/hosts). Without the CA, the certificate is refused with one clear
// line, which is not fatal: the spans are counted as export_failed.
func TestExportHTTPS(t *testing.T) {
	dir := t.TempDir()
	ca, cert, key, clientCert, clientKey := testPKI(t, dir)
	recv := startReceiver(t, dir, "recv", "-tls-cert", cert, "-tls-key", key, "-client-ca", ca)
	url := fmt.Sprintf("https://localhost:%d", recv.port)

	t.Run("trusted", func(t *testing.T) {
		t.Setenv("OTEL_EXPORTER_OTLP_CERTIFICATE", ca)
		t.Setenv("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", clientCert)
		t.Setenv("OTEL_EXPORTER_OTLP_CLIENT_KEY", clientKey)
		reqs := hellos(25)
		checkAllExported(t, runExport(t, t.TempDir(), reqs, "--otlp-endpoint", url).sum, recv.spans(t), len(reqs))
	})
	t.Run("untrusted", func(t *testing.T) {
		reqs := hellos(5)
		run := runExport(t, t.TempDir(), reqs, "--otlp-endpoint", url, "--otlp-flush-timeout", "1000")
		if run.sum.exported != 0 || run.sum.reasons["export_failed"] != len(reqs) {
			t.Errorf("want %d export_failed, got %d exported, %v", len(reqs), run.sum.exported, run.sum.reasons)
		}
		if !strings.Contains(run.otrace.stderr(), "certificate was refused") {
			t.Errorf("no line saying the certificate was refused:\n%s", run.otrace.stderr())
		}
	})
}

// TestCollectorFileConfig: the README's Collector configuration for the file
// path, taken from the README itself, reads every span otrace wrote with -o,
// through the Collector's own file reading (otlprecv -file-config) started
// after the file was written (start_at: beginning).
func TestCollectorFileConfig(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	section := string(readme)
	if i := strings.Index(section, "### JSON lines to a file"); i >= 0 {
		section = section[i:]
	}
	m := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindStringSubmatch(section)
	if m == nil || !strings.Contains(m[1], "/var/log/otrace/spans.jsonl") {
		t.Fatal("README.md has no Collector configuration reading /var/log/otrace/spans.jsonl under \"JSON lines to a file\"")
	}
	_, port, ot, out := tracedFixture(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "collector.yaml")
	if err := os.WriteFile(cfg, []byte(strings.ReplaceAll(m[1], "/var/log/otrace/spans.jsonl", out)), 0o644); err != nil {
		t.Fatal(err)
	}
	sendAll(t, newClient(), port, mixedRequests(60))
	ot.signal(t, syscall.SIGINT)
	ot.expectExit(t, exitTimeout, 0)
	lines := readOutput(t, out)

	recv := &receiver{out: filepath.Join(dir, "recv.jsonl"), meta: filepath.Join(dir, "recv.meta")}
	recv.p = startProc(t, dir, "otlprecv", nil, otlprecvBin(t), "-file-config", cfg, "-out", recv.out, "-meta", recv.meta)
	if got := recv.waitSpans(t, len(lines), 30*time.Second); got != len(lines) {
		t.Fatalf("the file receiver read %d spans of the %d written\n%s", got, len(lines), recv.p.stderr())
	}
	recv.stop(t)
	got := recv.spans(t)
	bySpanID := map[string]otlp.Span{}
	for _, s := range got {
		bySpanID[s.SpanID] = s
	}
	for _, s := range lines {
		if !reflect.DeepEqual(bySpanID[s.SpanID], s) {
			t.Errorf("span %s read back as %+v, written as %+v", s.SpanID, bySpanID[s.SpanID], s)
		}
	}
}
