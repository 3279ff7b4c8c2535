// Command cost measures what otrace's spans cost the traced program: the CPU
// time per operation of a server or a client, run untraced and traced in turn
// by ./run. It uses only the standard library.
//
//	cost -mode server -portfile F          HTTP server; prints its CPU time at SIGTERM
//	cost -mode client -url U -n N -c C     N GETs over C keep-alive connections
//
// Both print one line "ops=N cpu_ns=T" to stdout when done (T: user+system).
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
)

func cpuNanos() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		log.Fatal(err)
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

func main() {
	mode := flag.String("mode", "", "server or client")
	portFile := flag.String("portfile", "", "server: write the port here when listening")
	url := flag.String("url", "", "client: URL to GET")
	n := flag.Int("n", 10000, "client: requests")
	conns := flag.Int("c", 4, "client: concurrent connections")
	flag.Parse()
	log.SetFlags(0)
	switch *mode {
	case "server":
		serve(*portFile)
	case "client":
		client(*url, *n, *conns)
	default:
		log.Fatal("-mode server|client")
	}
}

func serve(portFile string) {
	var ops atomic.Int64
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/leaf", func(w http.ResponseWriter, r *http.Request) {
		ops.Add(1)
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "ok\n")
	})
	go http.Serve(ln, mux)
	if portFile != "" {
		tmp := portFile + ".tmp"
		os.WriteFile(tmp, []byte(strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)), 0o644)
		os.Rename(tmp, portFile)
	}
	<-sigs
	fmt.Printf("ops=%d cpu_ns=%d\n", ops.Load(), cpuNanos())
}

func client(url string, n, conns int) {
	tr := &http.Transport{MaxIdleConnsPerHost: conns}
	c := &http.Client{Transport: tr}
	var next atomic.Int64
	var wg sync.WaitGroup
	start := cpuNanos()
	for i := 0; i < conns; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(n) {
				resp, err := c.Get(url)
				if err != nil {
					log.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}()
	}
	wg.Wait()
	fmt.Printf("ops=%d cpu_ns=%d\n", n, cpuNanos()-start)
}
