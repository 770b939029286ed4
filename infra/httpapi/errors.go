package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/gorilla/mux"
	"go.uber.org/zap"

	"sleutel/domain"
	acct "sleutel/domain/account"
)

// statusOf maps a domain error code to its HTTP status.
func statusOf(code string) int {
	switch code {
	case domain.EInvalid:
		return http.StatusBadRequest
	case domain.EUnauthorized:
		return http.StatusUnauthorized
	case domain.EForbidden:
		return http.StatusForbidden
	case domain.ENotFound:
		return http.StatusNotFound
	case domain.EConflict:
		return http.StatusConflict
	case domain.EManagementInactive, domain.EOptionUnavailable:
		return http.StatusConflict
	case domain.EKeyLimitReached:
		return http.StatusConflict
	case domain.ECodeInvalid:
		return http.StatusUnprocessableEntity
	case domain.ELockedOut:
		return http.StatusLocked
	}
	return http.StatusInternalServerError
}

// errorBody is the one error shape of the API:
// {"error": {"code": "...", "message": "..."}}.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code        string     `json:"code"`
	Message     string     `json:"message"`
	LockedUntil *time.Time `json:"locked_until,omitempty"`
}

// writeError answers with err's code and message. Only internal errors are logged in
// full; the user then sees "internal error".
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code := domain.ErrorCode(err)
	if r.Context().Err() != nil && errors.Is(err, r.Context().Err()) {
		w.WriteHeader(499) // the client is gone: nobody reads a body (nginx's "client closed request")
		return
	}
	detail := errorDetail{Code: code, Message: domain.ErrorMessage(err)}
	if code == domain.EInternal {
		s.log.Error("internal error", zap.String("path", routeOf(r)), zap.Error(err))
	}
	var lo *acct.LockedOutError
	if errors.As(err, &lo) {
		u := lo.LockedUntil.UTC()
		detail.LockedUntil = &u
	}
	writeJSON(w, statusOf(code), errorBody{Error: detail})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// routeOf returns the route template of r ("/v1/password-resets/{token}"), never
// its path: paths carry reset and invitation tokens, which are never logged.
func routeOf(r *http.Request) string {
	if route := mux.CurrentRoute(r); route != nil {
		if t, err := route.GetPathTemplate(); err == nil {
			return t
		}
	}
	return "unknown route"
}
