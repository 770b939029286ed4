package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"sleutel/cmd/internal/platform"
	"sleutel/domain/audit"
	"sleutel/domain/lock"
	"sleutel/infra/esdb/esdbdouble"
	"sleutel/infra/pebblestore/pebbletamper"
	"sleutel/infra/readstore"
	"sleutel/projections"
)

// call sends a JSON request to a platform and decodes the JSON answer.
func call(t *testing.T, method, url, token string, body any, want int) map[string]any {
	t.Helper()
	raw, err := json.Marshal(body)
	require.NoError(t, err)
	if body == nil {
		raw = nil
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(raw))
	require.NoError(t, err)
	if raw != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, want, resp.StatusCode, "%s %s: %s", method, url, out)
	var m map[string]any
	if len(out) > 0 {
		require.NoError(t, json.Unmarshal(out, &m))
	}
	return m
}

// auditCLI runs `sleutel audit args…` and returns what it printed.
func auditCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := runAudit(t.Context(), args, &out, &errOut)
	return out.String(), err
}

// TestAuditCommands covers SPEC H2, H4 and H5 through the CLI on a platform's data
// directory: refused with the way out while sleuteld holds it; then verified,
// exported (whole, per lock as CSV, and from a moment on) with every export
// verifying on its own, replayed into read models identical to the live ones, and
// a tampered export and a tampered store each caught, naming the event.
func TestAuditCommands(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	m := &platform.Main{Config: platform.Config{Addr: "127.0.0.1:0", DataDir: dir, OperatorPassword: "operator-password-1",
		Logger: zap.NewNop(), Out: io.Discard}}
	require.NoError(t, m.Run(t.Context()))
	t.Cleanup(func() { _ = m.Close() })
	base := m.URL()
	call(t, "POST", base+"/v1/accounts", "", map[string]string{"username": "dora", "email": "dora@example.org", "password": "correct horse battery"}, 201)
	token := call(t, "POST", base+"/v1/sessions", "", map[string]string{"username": "dora", "password": "correct horse battery"}, 201)["token"].(string)
	var locks []string
	for _, serial := range []string{"CLI-1", "CLI-2"} {
		locks = append(locks, call(t, "POST", base+"/v1/locks", token, map[string]string{"serial": serial, "name": "Door", "time_zone": "UTC"}, 201)["id"].(string))
	}
	for i, cred := range []string{"04CC0001", "04CC0002", "04CC0003"} {
		call(t, "POST", base+"/v1/locks/"+locks[i%2]+"/keys", token, map[string]any{"type": "tag", "holder_name": "Holder", "credential": cred}, 201)
	}
	call(t, "POST", base+"/v1/locks/"+locks[0]+"/freeze", token, nil, 200)
	call(t, "POST", base+"/v1/locks/"+locks[0]+"/keys", token, map[string]any{"type": "code", "holder_name": "Late", "credential": "739102"}, 201)

	_, err := auditCLI(t, "verify", "--data", dir)
	require.ErrorIs(t, err, platform.ErrDataDirInUse, "Pebble locks the directory, for reading too")
	require.NoError(t, m.WaitForReadModels(t.Context(), 30*time.Second))
	require.NoError(t, m.Close())

	out, err := auditCLI(t, "verify", "--data", dir)
	require.NoError(t, err, out)
	require.Contains(t, out, "verified store")

	// The moment the freeze was recorded: partial exports start there.
	log, err := platform.OpenLog(t.Context(), dir, "")
	require.NoError(t, err)
	first, err := log.ReadStream(t.Context(), lock.Stream(mustUUID(t, locks[0])), 0, 100)
	require.NoError(t, err)
	require.NoError(t, log.Close())
	frozen := first[len(first)-2]
	require.Equal(t, "lock.frozen", frozen.Type)
	middle := frozen.RecordedAt
	require.Contains(t, out, "every stream's hash chain holds")

	// Exports verify on their own, in both formats, whole or in part.
	exports := t.TempDir()
	for _, e := range []struct {
		name string
		args []string
	}{
		{"all.jsonl", []string{"--format", "jsonl"}},
		{"lock.csv", []string{"--format", "csv", "--lock", locks[0]}},
		{"since.jsonl", []string{"--format", "jsonl", "--since", middle.Format(time.RFC3339Nano)}},
		{"lock-since.csv", []string{"--format", "csv", "--lock", locks[0], "--since", middle.Format(time.RFC3339Nano)}},
		{"lock-until.csv", []string{"--format", "csv", "--lock", locks[0], "--until", middle.Format(time.RFC3339Nano)}},
		{"until.jsonl", []string{"--format", "jsonl", "--until", middle.Format(time.RFC3339Nano)}},
	} {
		path := filepath.Join(exports, e.name)
		out, err := auditCLI(t, append([]string{"export", "--data", dir, "--out", path}, e.args...)...)
		require.NoError(t, err, out)
		out, err = auditCLI(t, "verify", path)
		require.NoError(t, err, "%s: %s", e.name, out)
		require.Contains(t, out, "verified export", e.name)
	}
	lockCSV, err := os.ReadFile(filepath.Join(exports, "lock-since.csv"))
	require.NoError(t, err)
	rows := strings.Split(strings.TrimSpace(string(lockCSV)), "\n")
	require.Len(t, rows, 3, "header, the freeze and the late key")
	require.Contains(t, rows[1], "lock.frozen")
	require.Regexp(t, `,[0-9a-f]{64},[0-9a-f]{64}$`, rows[1], "the stretch starts mid-stream: its first row carries prev_hash")
	untilCSV, err := os.ReadFile(filepath.Join(exports, "lock-until.csv"))
	require.NoError(t, err)
	rows = strings.Split(strings.TrimSpace(string(untilCSV)), "\n")
	require.Len(t, rows, len(first)-2+1, "header and the lock's events before the freeze")
	require.NotContains(t, string(untilCSV), "lock.frozen", "H5 --until stops before the freeze")
	require.NotContains(t, string(untilCSV), "739102", "no PIN in an export")
	untilJSONL, err := os.ReadFile(filepath.Join(exports, "until.jsonl"))
	require.NoError(t, err)
	require.NotContains(t, string(untilJSONL), `"type":"lock.frozen"`)
	require.Contains(t, string(untilJSONL), `"type":"lock.key_issued"`)

	// H2: the read models rebuilt from position zero equal the live ones.
	out, err = auditCLI(t, "replay", "--data", dir, "--into", filepath.Join(t.TempDir(), "replayed"))
	require.NoError(t, err, out)
	require.Equal(t, "identical\n", out)
	_, err = auditCLI(t, "replay", "--data", dir, "--into", filepath.Join(dir, "inside"))
	require.Error(t, err, "never into the data directory")

	// A live read model that no longer follows from the log is named: one lock's
	// row changed behind the platform's back.
	views := (*projections.LockViews)(nil).Name()
	rw, err := readstore.Open(filepath.Join(dir, "readmodels"))
	require.NoError(t, err)
	pairs, err := rw.Scan(t.Context(), []byte(views+"/"), nil, 1000, false)
	require.NoError(t, err)
	pairs = slices.DeleteFunc(pairs, func(p projections.Pair) bool { return !bytes.Contains(p.Value, []byte(`"Door"`)) })
	require.NotEmpty(t, pairs, "a lock row names the door")
	require.NoError(t, rw.Write(t.Context(), func(b projections.Batch) error {
		return b.Set(pairs[0].Key, bytes.Replace(pairs[0].Value, []byte(`"Door"`), []byte(`"Back door"`), 1))
	}))
	require.NoError(t, rw.Close())
	out, err = auditCLI(t, "replay", "--data", dir, "--into", filepath.Join(t.TempDir(), "again"))
	require.ErrorIs(t, err, errBroken, "H2 a difference fails the replay")
	require.Contains(t, out, "first difference (live, then replayed): "+views+": ")
	require.Contains(t, out, string(pairs[0].Key))
	require.Contains(t, out, "Back door")
	rw, err = readstore.Open(filepath.Join(dir, "readmodels"))
	require.NoError(t, err)
	require.NoError(t, rw.Write(t.Context(), func(b projections.Batch) error { return b.Set(pairs[0].Key, pairs[0].Value) }))
	require.NoError(t, rw.Close())

	// A tampered export names the event whose line was changed.
	all := filepath.Join(exports, "all.jsonl")
	raw, err := os.ReadFile(all)
	require.NoError(t, err)
	lines := strings.SplitAfter(string(raw), "\n")
	victim := -1
	for i, l := range lines {
		if strings.Contains(l, `"type":"lock.key_issued"`) {
			victim = i
			break
		}
	}
	require.Positive(t, victim)
	var ev audit.Event
	require.NoError(t, json.Unmarshal([]byte(lines[victim]), &ev))
	lines[victim] = strings.Replace(lines[victim], `"holder_name":"Holder"`, `"holder_name":"Intruder"`, 1)
	forged := filepath.Join(exports, "forged.jsonl")
	require.NoError(t, os.WriteFile(forged, []byte(strings.Join(lines, "")), 0o600))
	out, err = auditCLI(t, "verify", forged)
	require.ErrorIs(t, err, errBroken)
	require.Contains(t, out, "BROKEN")
	require.Contains(t, out, "event "+ev.ID.String(), "H4 the tampered event is named")
	require.Contains(t, out, "revision 1,")

	// A store with a stream's last event cut off: its chain is whole, but the
	// embedded store writes every position, so the gap is named.
	cutDir := filepath.Join(t.TempDir(), "cut")
	require.NoError(t, os.CopyFS(cutDir, os.DirFS(dir)))
	stream := lock.Stream(mustUUID(t, locks[1]))
	cutPos, err := pebbletamper.Drop(filepath.Join(cutDir, "events"), stream, 1)
	require.NoError(t, err)
	out, err = auditCLI(t, "verify", "--data", cutDir)
	require.ErrorIs(t, err, errBroken, out)
	require.Contains(t, out, fmt.Sprintf("position %d follows %d: the events between them are missing", cutPos+1, cutPos-1), "H4 the cut is named")

	// A tampered store names the event whose payload was changed behind its back.
	log, err = platform.OpenLog(t.Context(), dir, "")
	require.NoError(t, err)
	recs, err := log.ReadStream(t.Context(), stream, 1, 1)
	require.NoError(t, err)
	require.NoError(t, log.Close())
	_, err = pebbletamper.Payload(filepath.Join(dir, "events"), stream, 1)
	require.NoError(t, err)
	out, err = auditCLI(t, "verify", "--data", dir)
	require.ErrorIs(t, err, errBroken)
	require.Contains(t, out, "BROKEN")
	require.Contains(t, out, "event "+recs[0].ID.String(), "H4 the tampered event is named")
	require.Contains(t, out, "stream "+stream+" revision 1")
}

func mustUUID(t *testing.T, s string) uuid.UUID {
	t.Helper()
	u, err := uuid.Parse(s)
	require.NoError(t, err)
	return u
}

// TestAuditOnEventStoreDB: the audit commands read a platform on EventStoreDB
// (the in-test protocol double) while it runs: verify, export and replay, and a
// payload changed in the store is named (SPEC H2, H4).
func TestAuditOnEventStoreDB(t *testing.T) {
	conn, double := esdbdouble.Start(t)
	dir := filepath.Join(t.TempDir(), "data")
	m := &platform.Main{Config: platform.Config{Addr: "127.0.0.1:0", DataDir: dir, Store: conn, OperatorPassword: "operator-password-1",
		Logger: zap.NewNop(), Out: io.Discard}}
	require.NoError(t, m.Run(t.Context()))
	t.Cleanup(func() { _ = m.Close() })
	base := m.URL()
	call(t, "POST", base+"/v1/accounts", "", map[string]string{"username": "esme", "email": "esme@example.org", "password": "correct horse battery"}, 201)
	token := call(t, "POST", base+"/v1/sessions", "", map[string]string{"username": "esme", "password": "correct horse battery"}, 201)["token"].(string)
	lockID := call(t, "POST", base+"/v1/locks", token, map[string]string{"serial": "ESA-1", "name": "Door", "time_zone": "UTC"}, 201)["id"].(string)
	call(t, "POST", base+"/v1/locks/"+lockID+"/keys", token, map[string]any{"type": "tag", "holder_name": "Holder", "credential": "04DD0001"}, 201)

	out, err := auditCLI(t, "verify", conn)
	require.NoError(t, err, out)
	require.Contains(t, out, "verified store esdb://")
	path := filepath.Join(t.TempDir(), "lock.jsonl")
	out, err = auditCLI(t, "export", "--store", conn, "--lock", lockID, "--out", path)
	require.NoError(t, err, out)
	out, err = auditCLI(t, "verify", path)
	require.NoError(t, err, out)

	// Each command waited for its read models; the live checkpoints say how far
	// each got, and the replay compares there.
	require.NoError(t, m.Close())
	out, err = auditCLI(t, "replay", "--store", conn, "--data", dir, "--into", filepath.Join(t.TempDir(), "replayed"))
	require.NoError(t, err, out)
	require.Equal(t, "identical\n", out)

	stream := lock.Stream(mustUUID(t, lockID))
	require.NoError(t, double.TamperPayload(stream, 1))
	out, err = auditCLI(t, "verify", "--store", conn)
	require.ErrorIs(t, err, errBroken)
	require.Contains(t, out, "stream "+stream+" revision 1")
}

// TestProgress: on a terminal the replay's bar fills as the log is read and ends
// its line; anywhere else (a pipe, a file, a buffer) nothing is drawn (H2).
func TestProgress(t *testing.T) {
	var buf bytes.Buffer
	quiet := newProgress(&buf, 1000)
	quiet.set(500, 500)
	quiet.done()
	require.Empty(t, buf.String(), "no bar off a terminal")

	p := newProgress(&buf, 1000)
	p.on = true // as on a terminal
	p.set(250, 500)
	require.Contains(t, buf.String(), "\r[====================                    ]  50%  250 events")
	p.set(300, 600)
	require.NotContains(t, buf.String(), "300 events", "at most ten draws a second")
	p.done()
	require.Contains(t, buf.String(), "\r[========================================] 100%  250 events", "done draws the full bar")
	require.True(t, strings.HasSuffix(buf.String(), "\n"), "the finished bar ends its line")
}
