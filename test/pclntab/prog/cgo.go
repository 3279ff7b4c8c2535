//go:build cgo

// With external linking, this C code lands in .text ahead of runtime.text.

package main

// static int answer(void) { return 42; }
import "C"

func cgoAnswer() int { return int(C.answer()) }
