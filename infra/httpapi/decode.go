package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"sleutel/domain"
)

// MaxBody is the largest request body accepted.
const MaxBody = 1 << 20

// decode reads r's JSON body into v, strictly: a body over MaxBody, unknown fields,
// wrong types, trailing data or invalid JSON are invalid_input with a message that
// says which (E1).
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return domain.Errorf(domain.EInvalid, "send JSON with Content-Type: application/json")
	}
	body := http.MaxBytesReader(w, r.Body, MaxBody)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return domain.Errorf(domain.EInvalid, "the body holds more than one JSON value")
	}
	return nil
}

func decodeError(err error) error {
	var (
		syntax   *json.SyntaxError
		typ      *json.UnmarshalTypeError
		tooLarge *http.MaxBytesError
		derr     *domain.Error
	)
	switch {
	case errors.As(err, &tooLarge):
		return domain.Errorf(domain.EInvalid, "the body is larger than %d bytes", MaxBody)
	case errors.As(err, &derr):
		return derr
	case errors.As(err, &syntax):
		return domain.Errorf(domain.EInvalid, "the body is not valid JSON (at byte %d)", syntax.Offset)
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			return domain.Errorf(domain.EInvalid, "the body must be a JSON %s", expected(typ.Type.Kind().String()))
		}
		return domain.Errorf(domain.EInvalid, "field %q must be %s", field, expected(typ.Type.Kind().String()))
	case errors.Is(err, io.EOF):
		return domain.Errorf(domain.EInvalid, "the body is empty: send a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return domain.Errorf(domain.EInvalid, "the body ends in the middle of a JSON value")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return domain.Errorf(domain.EInvalid, "unknown field %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
	}
	return domain.Errorf(domain.EInvalid, "the body could not be read: %s", strings.TrimPrefix(err.Error(), "json: "))
}

func expected(kind string) string {
	switch kind {
	case "string":
		return "a string"
	case "int", "int64", "int32", "uint", "uint64", "float64":
		return "a number"
	case "bool":
		return "true or false"
	case "slice", "array":
		return "an array"
	case "struct", "map":
		return "an object"
	}
	return fmt.Sprintf("of type %s", kind)
}
