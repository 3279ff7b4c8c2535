package integration

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// Programs of others, built here from a release on the Go module proxy the
// way their users build them for production: the go on PATH, -trimpath,
// stripped (-ldflags=-s -w), their module list in the build info.
const (
	caddyRelease = "github.com/caddyserver/caddy/v2/cmd/caddy@v2.10.2"
	// a large program's first build fetches its modules and compiles ~50 MB
	moduleBuildTimeout = 10 * time.Minute
)

// moduleProgram builds pkg@version with go install, once per test binary
// run, into sharedDir/name/; returns the binary, named as go install names it.
func moduleProgram(t *testing.T, pkg, name, binary string) string {
	t.Helper()
	dir := filepath.Join(sharedDir, name)
	path := filepath.Join(dir, binary)
	if isFile(path) {
		return path
	}
	ctx, cancel := context.WithTimeout(context.Background(), moduleBuildTimeout)
	defer cancel()
	start := time.Now()
	cmd := exec.CommandContext(ctx, "go", "install", "-trimpath", "-ldflags=-s -w", pkg)
	cmd.Env = append(os.Environ(), "GOBIN="+dir, "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go install %s: %v\n%s", pkg, err, out)
	}
	t.Logf("built %s in %v", pkg, time.Since(start).Round(time.Second))
	if !isFile(path) {
		t.Fatalf("go install %s made no %s", pkg, path)
	}
	return path
}

// TestModulePrograms: a release of Caddy (built with this machine's Go,
// stripped) traced as a server and reverse proxy, with h2c: the same
// checks as for Debian's Caddy (testCaddy), plus a request over HTTP/2
// with prior knowledge, which Caddy serves through golang.org/x/net's h2c.
func TestModulePrograms(t *testing.T) {
	bin := otraceBin(t)
	requireRoot(t)
	t.Run("caddy v2.10.2", func(t *testing.T) {
		testCaddy(t, bin, moduleProgram(t, caddyRelease, "caddy-v2.10.2", "caddy"), true)
	})
}
