package integration

import (
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

var (
	gopathOnce   sync.Once
	gopathBuilds = map[string]string{}
	gopathErr    error
)

// gopathFixtures builds the services fixture the way Debian builds Go
// programs (test/fixtures/services/build-gopath.sh: GOPATH mode, no module
// information in the build info), with DWARF and stripped; once per run.
func gopathFixtures(t *testing.T) map[string]string {
	t.Helper()
	gopathOnce.Do(func() {
		script, err := filepath.Abs(filepath.Join("..", "..", "fixtures", "services", "build-gopath.sh"))
		if err != nil {
			gopathErr = err
			return
		}
		for name, flags := range map[string][]string{"dwarf": nil, "stripped": strippedFlags} {
			path := filepath.Join(sharedDir, "services-gopath-"+name)
			ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
			out, err := exec.CommandContext(ctx, "sh", append([]string{script, "go", path}, flags...)...).CombinedOutput()
			cancel()
			if err != nil {
				gopathErr = err
				t.Logf("%s", out)
				return
			}
			gopathBuilds[name] = path
		}
	})
	if gopathErr != nil {
		t.Fatalf("building the services fixture in GOPATH mode: %v", gopathErr)
	}
	return gopathBuilds
}

// TestNoModuleInfo: a program whose build info lists no module (Debian's
// GOPATH builds; no module version to key anything by) gets every library
// planned from its symbols and type data, with DWARF and stripped: gRPC
// server and client spans (name, rpc.method, status) and database/sql spans
// with db.system.name and error.type from the driver's types, against
// PostgreSQL and SQLite, the same as a module build's.
func TestNoModuleInfo(t *testing.T) {
	bin := otraceBin(t)
	requireRoot(t)
	builds := gopathFixtures(t)
	dsn := startPostgres(t)
	for _, name := range []string{"dwarf", "stripped"} {
		path := builds[name]
		t.Run(name, func(t *testing.T) {
			code, stdout, stderr := runOtrace(t, t.TempDir(), "otrace-list", bin, "--list-probes", path)
			var plan struct {
				Modules []json.RawMessage `json:"modules"`
			}
			if code != 0 || json.Unmarshal([]byte(stdout), &plan) != nil {
				t.Fatalf("--list-probes: exit %d: %s", code, stderr)
			}
			if len(plan.Modules) != 0 {
				t.Fatalf("the GOPATH build lists %d modules, want none", len(plan.Modules))
			}
			t.Run("grpc", func(t *testing.T) { testGRPC(t, bin, path) })
			t.Run("sql", func(t *testing.T) { testSQLSpans(t, bin, path, dsn) })
		})
	}
}
