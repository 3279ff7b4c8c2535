// Command cost is the load generator of ./run, which measures what otrace's
// spans cost a traced program: N GETs of one URL over C keep-alive
// connections. It uses only the standard library.
//
//	cost -url U -n N -c C
//
// It prints "ops=N cpu_ns=T" (its own user+system time) when done.
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
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
	url := flag.String("url", "", "URL to GET")
	n := flag.Int("n", 10000, "requests")
	conns := flag.Int("c", 4, "concurrent connections")
	flag.Parse()
	log.SetFlags(0)
	if *url == "" {
		log.Fatal("-url is required")
	}
	client(*url, *n, *conns)
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
				if resp.StatusCode != http.StatusOK {
					log.Fatalf("%s: status %d", url, resp.StatusCode)
				}
			}
		}()
	}
	wg.Wait()
	fmt.Printf("ops=%d cpu_ns=%d\n", n, cpuNanos()-start)
}
