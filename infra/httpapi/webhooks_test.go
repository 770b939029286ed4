package httpapi

import (
	"reflect"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"sleutel/commands"
	"sleutel/domain/webhook"
	"sleutel/projections"
)

// TestOpenAPI_WebhookSchemasMatchViewTypes checks the webhook schemas (W1)
// against the Go types the handlers encode, as TestOpenAPI_SchemasMatchViewTypes
// does for the rest, and the documented event types against those a webhook may
// receive.
func TestOpenAPI_WebhookSchemasMatchViewTypes(t *testing.T) {
	t.Parallel()
	doc := loadOpenAPI(t)
	for name, typ := range map[string]reflect.Type{
		"Webhook":      reflect.TypeFor[webhookView](),
		"WebhookOwner": reflect.TypeFor[webhook.Owner](),
		"WebhookList":  reflect.TypeFor[listBody[webhookView]](),
		"Delivery":     reflect.TypeFor[projections.DeliveryRow](),
		"DeliveryList": reflect.TypeFor[listBody[projections.DeliveryRow]](),
	} {
		t.Run(name, func(t *testing.T) {
			ref := doc.Components.Schemas[name]
			require.NotNil(t, ref, "components.schemas.%s", name)
			matchStruct(t, name, ref.Value, typ)
		})
	}
	var documented []string
	for _, v := range doc.Components.Schemas["WebhookEventType"].Value.Enum {
		documented = append(documented, v.(string))
	}
	slices.Sort(documented)
	require.Equal(t, commands.WebhookEventTypes(webhook.OwnerAccount), documented, "the document lists exactly the types a webhook may receive")
	var statuses []string
	for _, v := range doc.Components.Parameters["DeliveryStatus"].Value.Schema.Value.Enum {
		statuses = append(statuses, v.(string))
	}
	require.Equal(t, deliveryStatuses, statuses)
}
