package webhook

import "sleutel/domain"

// Sentinel errors callers branch on. Messages are safe to show.
var (
	// ErrNotFound is returned for a webhook that does not exist, was deleted, or is
	// not the caller's (E2: another's webhook reads as not found).
	ErrNotFound = &domain.Error{Code: domain.ENotFound, Message: "webhook not found"}
	// ErrTooMany is returned when the owner already has MaxWebhooks webhooks.
	ErrTooMany = &domain.Error{Code: domain.EConflict, Message: "you have the most webhooks one owner may have: delete one first"}
)
