package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/mux"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"sleutel/domain"
	"sleutel/domain/audit"
	"sleutel/domain/es"
	"sleutel/domain/lock"
	"sleutel/projections"
)

// TestOpenAPI_AuditSchemasMatchViewTypes checks the audit API's schemas against
// the Go types it encodes, as TestOpenAPI_SchemasMatchViewTypes does for the rest.
func TestOpenAPI_AuditSchemasMatchViewTypes(t *testing.T) {
	t.Parallel()
	doc := loadOpenAPI(t)
	for name, typ := range map[string]reflect.Type{
		"AuditEvent":     reflect.TypeFor[projections.AuditEvent](),
		"EventMetadata":  reflect.TypeFor[es.Metadata](),
		"AuditEventList": reflect.TypeFor[auditEventList](),
		"AccessAsOf":     reflect.TypeFor[accessAsOfBody](),
		"LockAsOf":       reflect.TypeFor[audit.Access](),
		"KeyAsOf":        reflect.TypeFor[audit.KeyAccess](),
	} {
		t.Run(name, func(t *testing.T) {
			ref := doc.Components.Schemas[name]
			require.NotNil(t, ref, "components.schemas.%s", name)
			matchStruct(t, name, ref.Value, typ)
		})
	}
}

// memLog is an event log in memory.
type memLog struct{ recs []es.Record }

func (l *memLog) ReadAll(_ context.Context, after es.Position, limit int) ([]es.Record, error) {
	var out []es.Record
	for _, r := range l.recs {
		if after.Less(r.Position) && len(out) < limit {
			out = append(out, r)
		}
	}
	return out, nil
}

func (l *memLog) ReadStream(_ context.Context, stream string, from uint64, limit int) ([]es.Record, error) {
	var out []es.Record
	for _, r := range l.recs {
		if r.Stream == stream && r.Revision >= from && len(out) < limit {
			out = append(out, r)
		}
	}
	return out, nil
}

func (l *memLog) append(t *testing.T, reg *es.Registry, stream string, e es.Event, at time.Time) {
	t.Helper()
	d, err := reg.Encode(uuid.New(), e, es.Metadata{Actor: "account:" + uuid.NewString()})
	require.NoError(t, err)
	var rev uint64
	var prev es.Hash
	for _, r := range l.recs {
		if r.Stream == stream {
			rev, prev = r.Revision+1, r.Hash
		}
	}
	r := es.Record{ID: d.ID, Stream: stream, Type: d.Type, Revision: rev, Position: es.Pos(uint64(len(l.recs) + 1)), RecordedAt: at, Data: d.Data, Metadata: d.Metadata}
	r.Hash = es.HashRecord(prev, &r)
	l.recs = append(l.recs, r)
}

// orgScope is an auditor limited to one organization, as issue 4 will plug in:
// its locks and its members only.
type orgScope struct {
	locks   map[uuid.UUID]bool
	members map[string]bool
}

func (orgScope) Global() bool { return false }

func (o orgScope) Stream(_ context.Context, stream string) (StreamBound, error) {
	if id, ok := es.StreamID(stream); ok && o.locks[id] {
		return StreamBound{}, nil
	}
	return StreamBound{}, ErrStreamNotFound
}

func (o orgScope) Lock(_ context.Context, id uuid.UUID) (LockBound, error) {
	if o.locks[id] {
		return LockBound{}, nil
	}
	return LockBound{}, projections.ErrLockNotFound
}

func (o orgScope) Actor(_ context.Context, actor string) error {
	if o.members[actor] {
		return nil
	}
	return &domain.Error{Code: domain.EForbidden, Message: "not a member of your organization"}
}

type fixedSessions struct{ p Principal }

func (f fixedSessions) Authenticate(context.Context, string) (Principal, error) { return f.p, nil }

// TestAudit_OrganizationScope: an auditor whose scope is one organization (the
// plug-in point for issue 4) reads that organization's locks, and is refused the
// whole log, another organization's lock and a stranger's changes (SPEC E2, H3).
func TestAudit_OrganizationScope(t *testing.T) {
	t.Parallel()
	reg := es.NewRegistry()
	lock.RegisterEvents(reg)
	now := fixedDevClock{}.Now()
	ours, theirs, member := uuid.New(), uuid.New(), uuid.New()
	log := &memLog{}
	for _, id := range []uuid.UUID{ours, theirs} {
		log.append(t, reg, lock.Stream(id), lock.Registered{LockID: id, Serial: "S-" + id.String()[:4], OwnerID: member, Name: "Door",
			TimeZone: "UTC", RegisteredAt: now.Add(-time.Hour), FirstRegistration: true}, now.Add(-time.Hour))
		log.append(t, reg, lock.Stream(id), lock.KeyIssued{KeyID: uuid.New(), Type: lock.KeyTag, HolderName: "Tag", IssuedBy: member,
			IssuedAt: now.Add(-30 * time.Minute)}, now.Add(-30*time.Minute))
	}
	auditor := Principal{AccountID: uuid.New(), Roles: []string{"auditor"}}
	s := &Server{log: zap.NewNop(), router: mux.NewRouter()}
	s.Logger, s.Clock, s.Sessions = s.log, fixedDevClock{}, fixedSessions{auditor}
	s.Audit = projections.NewAuditQueries(log, nil, nil)
	s.AsOf = projections.NewAccessAsOf(log, reg, time.LoadLocation, 0)
	s.AuditScopes = func(_ context.Context, _ *Server, p Principal) (AuditScope, error) {
		require.Equal(t, auditor.AccountID, p.AccountID)
		return orgScope{locks: map[uuid.UUID]bool{ours: true}, members: map[string]bool{"account:" + member.String(): true}}, nil
	}
	s.routes()
	get := func(path string) (int, map[string]any) {
		req := httptest.NewRequestWithContext(t.Context(), http.MethodGet, path, nil)
		req.Header.Set("Authorization", "Bearer x")
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		var body map[string]any
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body), rec.Body.String())
		return rec.Code, body
	}
	code := func(b map[string]any) string { return b["error"].(map[string]any)["code"].(string) }

	status, body := get("/v1/audit/events")
	require.Equal(t, http.StatusForbidden, status, "the whole log is not an organization auditor's")
	require.Equal(t, "forbidden", code(body))
	status, body = get("/v1/audit/events?stream=" + lock.Stream(theirs))
	require.Equal(t, http.StatusNotFound, status, "another organization's lock reads as not found (E2)")
	require.Equal(t, "not_found", code(body))
	status, body = get("/v1/audit/events?stream=" + lock.Stream(ours))
	require.Equal(t, http.StatusOK, status)
	require.Len(t, body["items"], 2)

	at := "?at=" + now.Add(-time.Minute).Format(time.RFC3339)
	status, body = get("/v1/audit/locks/" + theirs.String() + "/access-as-of" + at)
	require.Equal(t, http.StatusNotFound, status)
	require.Equal(t, "not_found", code(body))
	status, body = get("/v1/audit/locks/" + ours.String() + "/access-as-of" + at)
	require.Equal(t, http.StatusOK, status)
	require.Len(t, body["items"], 1)
	require.Equal(t, true, body["items"].([]any)[0].(map[string]any)["could_open"])

	status, body = get("/v1/audit/actors/" + uuid.NewString() + "/changes")
	require.Equal(t, http.StatusForbidden, status, "a stranger's changes")
	require.Equal(t, "forbidden", code(body))
}
