// Command sink is a tiny OTLP/HTTP trace receiver for the benchmark: it
// accepts POST /v1/traces (protobuf, optionally gzip), counts the spans and
// discards them. It stands in for a Collector so the manual configuration
// exports for real without the benchmark measuring a Collector.
//
//	sink -addr 127.0.0.1:0 -portfile port.txt
//
// At exit (SIGINT, SIGTERM or -max-lifetime) it prints on stderr:
//
//	sink: N spans in M requests (B bytes), E bad requests
package main

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"
)

const maxBody = 64 << 20

type counters struct {
	spans    atomic.Uint64
	requests atomic.Uint64
	bytes    atomic.Uint64
	bad      atomic.Uint64
}

func (c *counters) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet && r.URL.Path == "/stats" {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]uint64{
			"spans": c.spans.Load(), "requests": c.requests.Load(),
			"bytes": c.bytes.Load(), "bad": c.bad.Load(),
		})
		return
	}
	if r.Method != http.MethodPost || r.URL.Path != "/v1/traces" {
		http.NotFound(w, r)
		return
	}
	n, size, err := c.count(r)
	if err != nil {
		c.bad.Add(1)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	c.spans.Add(uint64(n))
	c.requests.Add(1)
	c.bytes.Add(uint64(size))
	// An empty ExportTraceServiceResponse: full success.
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.WriteHeader(http.StatusOK)
}

func (c *counters) count(r *http.Request) (int, int, error) {
	var body io.Reader = http.MaxBytesReader(nil, r.Body, maxBody)
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(body)
		if err != nil {
			return 0, 0, err
		}
		defer zr.Close()
		body = io.LimitReader(zr, maxBody)
	}
	buf, err := io.ReadAll(body)
	if err != nil {
		return 0, 0, err
	}
	n, err := countSpans(buf)
	return n, len(buf), err
}

func writeFile(path, content string) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func main() {
	addr := flag.String("addr", "127.0.0.1:4318", "listen address (port 0 picks a free one)")
	portFile := flag.String("portfile", "", "write the bound port to this file")
	lifetime := flag.Duration("max-lifetime", 0, "exit after this long (0: run until signalled)")
	flag.Parse()

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	if *portFile != "" {
		port := ln.Addr().(*net.TCPAddr).Port
		if err := writeFile(*portFile, strconv.Itoa(port)+"\n"); err != nil {
			log.Fatal(err)
		}
	}
	c := &counters{}
	srv := &http.Server{Handler: c, ReadHeaderTimeout: 10 * time.Second}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *lifetime > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *lifetime)
		defer cancel()
	}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
	fmt.Fprintf(os.Stderr, "sink: %d spans in %d requests (%d bytes), %d bad requests\n",
		c.spans.Load(), c.requests.Load(), c.bytes.Load(), c.bad.Load())
}
