package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const line = `{"resourceSpans":[{"resource":{"attributes":[` +
	`{"key":"service.name","value":{"stringValue":"svc"}}]},` +
	`"scopeSpans":[{"scope":{"name":"otrace"},"spans":[` +
	`{"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"0102030405060708",` +
	`"name":"GET","kind":2,"startTimeUnixNano":"1","endTimeUnixNano":"2",` +
	`"attributes":[{"key":"server.port","value":{"intValue":"8080"}}]}]}]}]}`

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "out.jsonl")
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRunFlat(t *testing.T) {
	p := writeFile(t, line+"\n"+line+"\n")
	var stdout, stderr bytes.Buffer
	if code := run([]string{"-flat", p}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d, stderr: %s", code, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("want 2 flat spans, got %q", stdout.String())
	}
	var s map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &s); err != nil {
		t.Fatal(err)
	}
	if s["name"] != "GET" || s["kind"] != 2.0 || s["spanId"] != "0102030405060708" ||
		s["attributes"].(map[string]any)["server.port"] != 8080.0 ||
		s["resource"].(map[string]any)["service.name"] != "svc" || s["scopeName"] != "otrace" {
		t.Errorf("unexpected flat span: %s", lines[0])
	}
}

func TestRunReportsBadLines(t *testing.T) {
	p := writeFile(t, line+"\n{\"resourceSpans\":[]}\n"+line[:40]+"\n")
	var stdout, stderr bytes.Buffer
	if code := run([]string{p}, &stdout, &stderr); code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	for _, want := range []string{p + ":2: ", p + ":3: "} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr %q lacks %q", stderr.String(), want)
		}
	}
	if strings.Contains(stderr.String(), p+":1:") || stdout.Len() != 0 {
		t.Errorf("line 1 is valid and no -flat was given; stdout=%q stderr=%q", stdout.String(), stderr.String())
	}
}

func TestRunUsage(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(nil, &stdout, &stderr); code != 2 {
		t.Errorf("no files: exit %d, want 2", code)
	}
	if code := run([]string{filepath.Join(t.TempDir(), "missing")}, &stdout, &stderr); code != 1 {
		t.Errorf("missing file: exit %d, want 1", code)
	}
}
