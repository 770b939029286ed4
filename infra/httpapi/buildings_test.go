package httpapi

import (
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestOpenAPI_Buildings_L13 checks the building routes are documented both ways
// and their schemas match the Go views they encode.
func TestOpenAPI_Buildings_L13(t *testing.T) {
	t.Parallel()
	doc := loadOpenAPI(t)
	documented := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		if !strings.HasPrefix(path, "/v1/buildings") && path != "/v1/me/building-management" {
			continue
		}
		for method := range item.Operations() {
			documented[method+" "+path] = true
		}
	}
	registered := map[string]bool{}
	for op := range routesOf(t, routerFor(false)) {
		if strings.Contains(op, " /v1/buildings") || strings.HasSuffix(op, " /v1/me/building-management") {
			registered[op] = true
		}
	}
	require.Len(t, registered, 10)
	require.Equal(t, documented, registered)

	for name, typ := range map[string]reflect.Type{
		"BuildingManagement": reflect.TypeFor[buildingManagementView](),
		"Building":           reflect.TypeFor[buildingView](),
		"BuildingList":       reflect.TypeFor[listBody[buildingView]](),
		"BulkIssue":          reflect.TypeFor[bulkView](),
		"BulkIssueList":      reflect.TypeFor[listBody[bulkView]](),
		"BulkResult":         reflect.TypeFor[bulkResultView](),
		"LockResult":         reflect.TypeFor[lockResultView](),
	} {
		t.Run(name, func(t *testing.T) {
			ref := doc.Components.Schemas[name]
			require.NotNil(t, ref, "components.schemas.%s", name)
			matchStruct(t, name, ref.Value, typ)
		})
	}
}
