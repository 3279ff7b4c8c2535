// Command server is the target of the otrace overhead benchmark: a Go
// net/http server answering GET /hello with a small JSON document, as in the
// original experiment. It is built two ways from this one source:
//
//	go build -o server-none .            # no OpenTelemetry code at all
//	go build -tags otel -o server-manual # OpenTelemetry Go SDK, as users apply it
//
// The "otrace" configuration runs server-none under otrace.
//
//	server -addr 127.0.0.1:0 -portfile port.txt -pidfile pid.txt
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
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

type greeting struct {
	Message string `json:"message"`
}

var served atomic.Uint64

// hello is the "tiny bit of work": encode a struct as JSON per request.
func hello(w http.ResponseWriter, r *http.Request) {
	body, err := json.Marshal(greeting{Message: "hello world"})
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.Write(body)
	served.Add(1)
}

// writeFile publishes a small file atomically (write, then rename) so a
// script polling for it never reads a partial number.
func writeFile(path, content string) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen address (port 0 picks a free one)")
	portFile := flag.String("portfile", "", "write the bound port to this file")
	pidFile := flag.String("pidfile", "", "write the process id to this file")
	lifetime := flag.Duration("max-lifetime", 0, "exit after this long (0: run until signalled)")
	endpoint := flag.String("otlp-endpoint", "", "OTLP/HTTP traces URL (otel build only; default: the OTEL_EXPORTER_OTLP_* variables)")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *lifetime > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *lifetime)
		defer cancel()
	}

	shutdownTracing, err := setupTracing(context.Background(), *endpoint)
	if err != nil {
		log.Fatal(err)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /hello", hello)
	srv := &http.Server{Handler: instrument(mux), ReadHeaderTimeout: 10 * time.Second}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	if *pidFile != "" {
		if err := writeFile(*pidFile, strconv.Itoa(os.Getpid())+"\n"); err != nil {
			log.Fatal(err)
		}
	}
	if *portFile != "" {
		port := ln.Addr().(*net.TCPAddr).Port
		if err := writeFile(*portFile, strconv.Itoa(port)+"\n"); err != nil {
			log.Fatal(err)
		}
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
	// Flush what the SDK still holds, as a well-behaved service does.
	fctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := shutdownTracing(fctx); err != nil {
		fmt.Fprintf(os.Stderr, "server: tracing shutdown: %v\n", err)
	}
	fmt.Fprintf(os.Stderr, "server: %d requests (%s)\n", served.Load(), flavour)
}
