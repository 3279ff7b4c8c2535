// A small net/http program whose function table the pclntab matrix checks.
package main

import (
	"fmt"
	"net/http"
	"os"
)

func hello(w http.ResponseWriter, r *http.Request) {
	fmt.Fprintf(w, "hello %s\n", r.URL.Path)
}

func main() {
	http.HandleFunc("/", hello)
	if len(os.Args) > 1 {
		_ = http.ListenAndServe(os.Args[1], nil)
	}
	fmt.Println(cgoAnswer())
}
