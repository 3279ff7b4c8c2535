// Command stallserver is a tiny net/http JSON server for testing latency
// measurement: every Nth request sleeps while holding a global mutex, so the
// stall holds up every connection at once, the way a stop-the-world GC
// pause would.
//
//	stallserver -addr 127.0.0.1:0 -portfile port.txt -stall-every 1000 -stall 50ms
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"time"
)

var body = []byte(`{"message":"hello"}` + "\n")

// staller serializes request handling so one request's stall blocks all.
type staller struct {
	mu     sync.Mutex
	every  uint64
	stall  time.Duration
	count  uint64
	stalls uint64
}

func (s *staller) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.count++
	if s.every > 0 && s.count%s.every == 0 {
		s.stalls++
		time.Sleep(s.stall)
	}
	s.mu.Unlock()

	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.Write(body)
}

func (s *staller) stats() (uint64, uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.count, s.stalls
}

// writePortFile publishes the bound port atomically (write, then rename) so
// a script polling for the file never reads a partial number.
func writePortFile(path string, port int) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(strconv.Itoa(port)+"\n"), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen address (port 0 picks a free one)")
	portFile := flag.String("portfile", "", "write the bound port to this file")
	every := flag.Uint64("stall-every", 0, "stall on every Nth request (0: never)")
	stall := flag.Duration("stall", 50*time.Millisecond, "length of each stall")
	lifetime := flag.Duration("max-lifetime", 0, "exit after this long (0: run until signalled)")
	flag.Parse()

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	if *portFile != "" {
		if err := writePortFile(*portFile, port); err != nil {
			log.Fatal(err)
		}
	}

	s := &staller{every: *every, stall: *stall}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *lifetime > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *lifetime)
		defer cancel()
	}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()

	log.Printf("stallserver on 127.0.0.1:%d, stall %v every %d requests", port, *stall, *every)
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
	n, stalls := s.stats()
	fmt.Fprintf(os.Stderr, "stallserver: %d requests, %d stalls\n", n, stalls)
}
