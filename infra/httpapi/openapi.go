package httpapi

import _ "embed"

// openAPI is the OpenAPI 3 document of the whole API; a test keeps it true to the
// routes.
//
//go:embed openapi.json
var openAPI []byte
