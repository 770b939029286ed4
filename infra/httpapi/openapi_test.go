package httpapi

import (
	"encoding"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/google/uuid"
	"github.com/gorilla/mux"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"sleutel/domain"
	"sleutel/domain/lock"
	"sleutel/projections"
)

// loadOpenAPI parses the embedded document and validates it as OpenAPI 3, with
// examples, defaults and patterns checked.
func loadOpenAPI(t *testing.T) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(openAPI)
	require.NoError(t, err, "openapi.json does not load")
	require.NoError(t, doc.Validate(t.Context(), openapi3.EnableExamplesValidation(), openapi3.EnableSchemaDefaultsValidation(),
		openapi3.EnableSchemaPatternValidation()), "openapi.json is not valid OpenAPI 3")
	return doc
}

func TestOpenAPI_DocumentIsValid(t *testing.T) {
	t.Parallel()
	doc := loadOpenAPI(t)
	require.Equal(t, "3.0.3", doc.OpenAPI)
	require.Equal(t, "http://localhost:8080", doc.Servers[0].URL)
	require.Equal(t, "http", doc.Components.SecuritySchemes["bearer"].Value.Type)
	require.Equal(t, "bearer", doc.Components.SecuritySchemes["bearer"].Value.Scheme)
	require.Equal(t, "apiKey", doc.Components.SecuritySchemes["device"].Value.Type)
	require.Equal(t, "Authorization", doc.Components.SecuritySchemes["device"].Value.Name)
	ids := map[string]string{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			where := method + " " + path
			require.NotEmpty(t, op.OperationID, where)
			require.NotContains(t, ids, op.OperationID, "%s: operationId %s is also %s", where, op.OperationID, ids[op.OperationID])
			ids[op.OperationID] = where
			require.NotEmpty(t, op.Description, where)
			require.NotNil(t, op.Security, "%s: say who may call it, [] for anyone", where)
			require.NotNil(t, op.Responses.Status(http.StatusInternalServerError), "%s: every route can fail with 500", where)
		}
	}
}

// TestOpenAPI_ErrorCodesMatchStatuses checks that every error response lists its
// codes in x-error-codes, each one the server answers with that very status
// (statusOf), and uses the shared Error schema.
func TestOpenAPI_ErrorCodesMatchStatuses(t *testing.T) {
	t.Parallel()
	doc := loadOpenAPI(t)
	known := []string{domain.EInvalid, domain.EUnauthorized, domain.EForbidden, domain.ENotFound, domain.EConflict,
		domain.EManagementInactive, domain.EKeyLimitReached, domain.ECodeInvalid, domain.EOptionUnavailable,
		domain.ELockedOut, domain.EInternal}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			for status, ref := range op.Responses.Map() {
				where := method + " " + path + " " + status
				if strings.HasPrefix(status, "2") {
					continue
				}
				codes := errorCodesOf(ref.Value)
				require.NotEmpty(t, codes, "%s: x-error-codes lists the codes", where)
				for _, c := range codes {
					require.Contains(t, known, c, where)
					require.Equal(t, status, strconv.Itoa(statusOf(c)), "%s: the server answers %s with %d", where, c, statusOf(c))
				}
				media := ref.Value.Content.Get("application/json")
				require.NotNil(t, media, where)
				require.Equal(t, "#/components/schemas/Error", media.Schema.Ref, "%s: errors use the Error schema", where)
			}
		}
	}
}

// errorCodesOf returns the x-error-codes of a documented response.
func errorCodesOf(r *openapi3.Response) []string {
	raw, _ := r.Extensions["x-error-codes"].([]any)
	out := make([]string, 0, len(raw))
	for _, c := range raw {
		if s, ok := c.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// TestOpenAPI_SchemasMatchViewTypes checks the component schemas against the Go
// types the handlers encode: the same JSON fields, required exactly when the field
// is always written (no omitempty), nullable exactly when it can be written as
// null, and of the matching JSON type.
func TestOpenAPI_SchemasMatchViewTypes(t *testing.T) {
	t.Parallel()
	doc := loadOpenAPI(t)
	for name, typ := range map[string]reflect.Type{
		"Lock":         reflect.TypeFor[lockView](),
		"Management":   reflect.TypeFor[managementView](),
		"Key":          reflect.TypeFor[keyView](),
		"AccessAnswer": reflect.TypeFor[accessAnswer](),
		"LogEntry":     reflect.TypeFor[projections.LogEntry](),
		"LockList":     reflect.TypeFor[listBody[lockView]](),
		"KeyList":      reflect.TypeFor[listBody[keyView]](),
		"LogEntryList": reflect.TypeFor[listBody[projections.LogEntry]](),
		"Error":        reflect.TypeFor[errorBody](),
		"ErrorDetail":  reflect.TypeFor[errorDetail](),
	} {
		t.Run(name, func(t *testing.T) {
			ref := doc.Components.Schemas[name]
			require.NotNil(t, ref, "components.schemas.%s", name)
			matchStruct(t, name, ref.Value, typ)
		})
	}
}

func matchStruct(t *testing.T, where string, s *openapi3.Schema, typ reflect.Type) {
	t.Helper()
	require.True(t, s.Type.Is("object"), "%s is an object", where)
	require.NotNil(t, s.AdditionalProperties.Has, "%s: additionalProperties false, so a new field fails the tests until documented", where)
	require.False(t, *s.AdditionalProperties.Has, where)
	var fields, required []string
	for f := range typ.Fields() {
		tag := f.Tag.Get("json")
		name, opts, _ := strings.Cut(tag, ",")
		if tag == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		fields = append(fields, name)
		omit := strings.Contains(opts, "omitempty") || strings.Contains(opts, "omitzero")
		if !omit {
			required = append(required, name)
		}
		prop := s.Properties[name]
		require.NotNil(t, prop, "%s.%s is documented", where, name)
		p := prop.Value
		ft := f.Type
		nullable := ft.Kind() == reflect.Pointer && !omit
		require.Equal(t, nullable, p.Nullable, "%s.%s nullable", where, name)
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		require.Equal(t, jsonType(ft), schemaType(p), "%s.%s type", where, name)
	}
	props := make([]string, 0, len(s.Properties))
	for name := range s.Properties {
		props = append(props, name)
	}
	require.ElementsMatch(t, fields, props, "%s: documented properties are the Go fields", where)
	require.ElementsMatch(t, required, s.Required, "%s: required are the fields written always", where)
}

var (
	timeType   = reflect.TypeFor[time.Time]()
	uuidType   = reflect.TypeFor[uuid.UUID]()
	rawType    = reflect.TypeFor[json.RawMessage]()
	textMarsh  = reflect.TypeFor[encoding.TextMarshaler]()
	jsonMarsh  = reflect.TypeFor[json.Marshaler]()
	windowType = reflect.TypeFor[lock.Window]()
)

// jsonType names what encoding/json writes for t: a JSON type, with the format
// for times and uuids.
func jsonType(t reflect.Type) string {
	switch {
	case t == timeType:
		return "string/date-time"
	case t == uuidType:
		return "string/uuid"
	case t == rawType:
		return "object" // log details are always an event's payload object
	case t == windowType:
		return "object"
	case t.Implements(jsonMarsh):
		return "?"
	case t.Implements(textMarsh):
		return "string"
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint32, reflect.Uint64:
		return "integer"
	case reflect.Slice, reflect.Array:
		return "array"
	case reflect.Struct, reflect.Map:
		return "object"
	}
	return t.Kind().String()
}

// schemaType names the JSON type a schema allows, looking through allOf.
func schemaType(s *openapi3.Schema) string {
	if len(s.AllOf) == 1 {
		return schemaType(s.AllOf[0].Value)
	}
	switch {
	case s.Type.Is("string") && (s.Format == "date-time" || s.Format == "uuid"):
		return "string/" + s.Format
	case s.Type != nil && len(s.Type.Slice()) == 1:
		return s.Type.Slice()[0]
	}
	return "?"
}

// TestOpenAPI_ScheduleMatchesTheDomain encodes a schedule as the domain does and
// validates it against the Schedule schema; a bad window must not validate.
func TestOpenAPI_ScheduleMatchesTheDomain(t *testing.T) {
	t.Parallel()
	doc := loadOpenAPI(t)
	schedule := lock.Schedule{
		{Days: []time.Weekday{time.Monday, time.Friday}, From: 8 * 60, Until: 17*60 + 30},
		{Days: []time.Weekday{time.Sunday, time.Saturday}, From: 0, Until: 24 * 60},
	}
	raw, err := json.Marshal(schedule)
	require.NoError(t, err)
	var v any
	require.NoError(t, json.Unmarshal(raw, &v))
	s := doc.Components.Schemas["Schedule"].Value
	require.NoError(t, s.VisitJSON(v), "%s", raw)
	var back lock.Schedule
	require.NoError(t, json.Unmarshal(raw, &back))
	require.Equal(t, schedule, back)

	for _, bad := range []string{
		`[{"days":["monday"],"from":"08:00","until":"09:00"}]`,
		`[{"days":["mon"],"from":"8:00","until":"09:00"}]`,
		`[{"days":["mon"],"from":"08:00","until":"24:30"}]`,
		`[{"days":[],"from":"08:00","until":"09:00"}]`,
		`[{"days":["mon"],"from":"08:00"}]`,
	} {
		require.NoError(t, json.Unmarshal([]byte(bad), &v))
		require.Error(t, s.VisitJSON(v), "the document refuses %s", bad)
		err := json.Unmarshal([]byte(bad), &back)
		if err == nil {
			err = back.Validate()
		}
		require.Error(t, err, "the domain refuses %s", bad)
	}
}

// TestOpenAPI_RoutesMatchTheRouter walks the router and checks every registered
// route is documented and every documented operation is registered, the dev clock
// only with --dev-clock. The router's path variables {lock} and {key} are {id} and
// {key_id} in the document.
func TestOpenAPI_RoutesMatchTheRouter(t *testing.T) {
	t.Parallel()
	doc := loadOpenAPI(t)
	documented := map[string]bool{}
	devOnly := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			documented[method+" "+path] = true
			if only, _ := op.Extensions["x-dev-clock-only"].(bool); only {
				devOnly[method+" "+path] = true
			}
		}
	}
	require.Equal(t, map[string]bool{"POST /v1/dev/clock": true}, devOnly)

	for _, dev := range []bool{true, false} {
		registered := routesOf(t, routerFor(dev))
		want := map[string]bool{}
		for op := range documented {
			if dev || !devOnly[op] {
				want[op] = true
			}
		}
		for op := range registered {
			require.True(t, want[op], "dev clock %v: %s is registered but not documented", dev, op)
		}
		for op := range want {
			require.True(t, registered[op], "dev clock %v: %s is documented but not registered", dev, op)
		}
	}
}

// routerFor builds a Server's router without its dependencies: registering routes
// only binds handlers, it calls none.
func routerFor(devClock bool) *Server {
	s := &Server{log: zap.NewNop(), router: mux.NewRouter()}
	s.Logger = s.log
	if devClock {
		s.DevClock = fixedDevClock{}
	}
	s.routes()
	return s
}

type fixedDevClock struct{}

func (fixedDevClock) Now() time.Time { return time.Date(2026, 1, 31, 9, 0, 0, 0, time.UTC) }
func (c fixedDevClock) Advance(time.Duration) (time.Time, error) {
	return c.Now(), nil
}

var docParams = strings.NewReplacer("{lock}", "{id}", "{key}", "{key_id}", "{org}", "{org_id}")

func routesOf(t *testing.T, s *Server) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	err := s.router.Walk(func(r *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		path, err := r.GetPathTemplate()
		if err != nil {
			return err
		}
		methods, err := r.GetMethods()
		require.NoError(t, err, "route %s has no method", path)
		for _, m := range methods {
			out[m+" "+docParams.Replace(path)] = true
		}
		return nil
	})
	require.NoError(t, err)
	require.NotEmpty(t, out)
	return out
}

// TestOpenAPI_ServedAndConforming serves /openapi.json and /healthz and validates
// both answers against the document, as the platform's session test does for the
// rest of the API.
func TestOpenAPI_ServedAndConforming(t *testing.T) {
	t.Parallel()
	doc := loadOpenAPI(t)
	doc.Servers = openapi3.Servers{{URL: "http://example.test"}}
	router, err := gorillamux.NewRouter(doc)
	require.NoError(t, err)
	s := routerFor(false)
	for _, path := range []string{"/openapi.json", "/healthz"} {
		req := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "http://example.test"+path, nil)
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		require.Equal(t, http.StatusOK, rec.Code, path)
		require.Equal(t, "application/json", rec.Header().Get("Content-Type"), path)
		if path == "/openapi.json" {
			require.Equal(t, openAPI, rec.Body.Bytes(), "the embedded document is served as is")
		}
		route, params, err := router.FindRoute(req)
		require.NoError(t, err, path)
		in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
			Options: &openapi3filter.Options{IncludeResponseStatus: true}}
		require.NoError(t, openapi3filter.ValidateRequest(t.Context(), in), path)
		require.NoError(t, openapi3filter.ValidateResponse(t.Context(), &openapi3filter.ResponseValidationInput{
			RequestValidationInput: in, Status: rec.Code, Header: rec.Header(), Body: io.NopCloser(rec.Body),
			Options: in.Options}), path)
	}
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/v1/dev/clock", strings.NewReader(`{"advance":"1h"}`)))
	require.Equal(t, http.StatusNotFound, rec.Code, "without --dev-clock the dev clock is not found, as documented")
}
