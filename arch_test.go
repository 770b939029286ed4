// Package sleutel_test holds checks that span the whole module.
package sleutel_test

import (
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

type pkg struct {
	ImportPath   string
	Imports      []string
	TestImports  []string
	XTestImports []string
}

// TestImportRules enforces the layering of STYLE.md §1: the domain is pure, commands
// and projections never reach into infra or a driver, infra packages do not import
// one another (infra/logging excepted), and nothing outside cmd imports cmd (the
// commands share their wiring in cmd/internal).
func TestImportRules(t *testing.T) {
	out, err := exec.Command("go", "list", "-json", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	drivers := []string{"go.uber.org/zap", "github.com/ThreeDotsLabs/watermill", "github.com/EventStore/", "github.com/gorilla/mux", "github.com/cockroachdb/pebble", "google.golang.org/grpc"}
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		for _, imp := range p.Imports {
			bad := func(why string) { t.Errorf("%s imports %s: %s", p.ImportPath, imp, why) }
			switch {
			case strings.HasPrefix(imp, "sleutel/cmd") && !strings.HasPrefix(p.ImportPath, "sleutel/cmd"):
				bad("nothing outside cmd imports cmd")
			case strings.HasPrefix(p.ImportPath, "sleutel/domain"):
				if strings.HasPrefix(imp, "sleutel/") && !strings.HasPrefix(imp, "sleutel/domain") {
					bad("the domain imports only the domain")
				}
				if strings.Contains(imp, ".") && imp != "github.com/google/uuid" {
					bad("the domain imports the standard library and uuid only")
				}
			case strings.HasPrefix(p.ImportPath, "sleutel/commands"), strings.HasPrefix(p.ImportPath, "sleutel/projections"):
				if strings.HasPrefix(imp, "sleutel/infra") || strings.HasPrefix(imp, "sleutel/commands") && strings.HasPrefix(p.ImportPath, "sleutel/projections") ||
					strings.HasPrefix(imp, "sleutel/projections") && strings.HasPrefix(p.ImportPath, "sleutel/commands") {
					bad("commands and projections import the domain, not infra or each other")
				}
				for _, d := range drivers {
					if strings.HasPrefix(imp, d) && !(d == "go.uber.org/zap" && strings.HasPrefix(p.ImportPath, "sleutel/commands")) {
						bad("no drivers below infra")
					}
				}
			case strings.HasPrefix(p.ImportPath, "sleutel/infra/"):
				own := strings.SplitN(strings.TrimPrefix(p.ImportPath, "sleutel/infra/"), "/", 2)[0]
				if strings.HasPrefix(imp, "sleutel/infra/") {
					other := strings.SplitN(strings.TrimPrefix(imp, "sleutel/infra/"), "/", 2)[0]
					if other != own && other != "logging" {
						bad("an infra package does not import another (infra/logging excepted)")
					}
				}
			}
		}
	}
}
