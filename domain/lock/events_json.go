package lock

import (
	"encoding/json"
	"time"

	"sleutel/domain/es"
)

// DecodePayload implements es.PayloadDecoder: a payload in the form json.Marshal
// writes is read without reflection (es.Canonical), the schedule by
// json.Unmarshal; anything else goes to json.Unmarshal whole. A lock's keys are
// most of its events. FuzzKeyIssuedDecodePayload holds it to json.Unmarshal.
func (e *KeyIssued) DecodePayload(raw []byte) error {
	var d KeyIssued
	if decodeKeyIssued(raw, &d) {
		*e = d
		return nil
	}
	return json.Unmarshal(raw, e)
}

// keyTypes and reasons are read without allocating.
var (
	keyTypes = []string{string(KeyPhone), string(KeyRemote), string(KeyCode), string(KeyTag)}
	reasons  = []string{ReasonRevoked, ReasonLockRemoved, ReasonOrganizationKeyRevoked}
)

// decodeTerms reads the optional terms of a key that KeyIssued and KeyChanged
// share, in their order: valid_from, valid_until, schedule (by json.Unmarshal),
// max_uses. It reports false for a schedule json.Unmarshal refuses.
func decodeTerms(c *es.Canonical, from, until **time.Time, schedule *Schedule, maxUses *int) bool {
	if c.Field("valid_from") {
		t := c.Time()
		*from = &t
	}
	if c.Field("valid_until") {
		t := c.Time()
		*until = &t
	}
	if c.Field("schedule") {
		var sc Schedule // its own, or the key it is read into would escape through json.Unmarshal
		if s := c.Raw(); c.OK() && json.Unmarshal(s, &sc) != nil {
			return false
		}
		*schedule = sc
	}
	if c.Field("max_uses") {
		*maxUses = c.Int()
	}
	return true
}

func decodeKeyIssued(raw []byte, d *KeyIssued) bool {
	c := es.NewCanonical(raw)
	c.Need("key_id")
	d.KeyID = c.UUID()
	c.Need("type")
	d.Type = KeyType(c.StringOf(keyTypes))
	c.Need("holder_name")
	d.HolderName = c.String()
	if c.Field("account_id") {
		d.AccountID = c.UUID()
	}
	if c.Field("credential_digest") {
		d.CredentialDigest = c.String()
	}
	if c.Field("credential_hint") {
		d.CredentialHint = c.String()
	}
	if !decodeTerms(c, &d.ValidFrom, &d.ValidUntil, &d.Schedule, &d.MaxUses) {
		return false
	}
	c.Need("issued_by")
	d.IssuedBy = c.UUID()
	if c.Field("organization_id") {
		d.Organization = c.UUID()
	}
	c.Need("issued_at")
	d.IssuedAt = c.Time()
	if c.Field("bulk_id") {
		d.BulkID = c.UUID()
	}
	return c.End()
}

// DecodePayload implements es.PayloadDecoder as KeyIssued's does: a key's changes
// are its next most frequent event. FuzzKeyChangedDecodePayload holds it to
// json.Unmarshal.
func (e *KeyChanged) DecodePayload(raw []byte) error {
	var d KeyChanged
	if decodeKeyChanged(raw, &d) {
		*e = d
		return nil
	}
	return json.Unmarshal(raw, e)
}

func decodeKeyChanged(raw []byte, d *KeyChanged) bool {
	c := es.NewCanonical(raw)
	c.Need("key_id")
	d.KeyID = c.UUID()
	c.Need("holder_name")
	d.HolderName = c.String()
	if !decodeTerms(c, &d.ValidFrom, &d.ValidUntil, &d.Schedule, &d.MaxUses) {
		return false
	}
	c.Need("changed_by")
	d.ChangedBy = c.UUID()
	c.Need("changed_at")
	d.ChangedAt = c.Time()
	return c.End()
}

// DecodePayload implements es.PayloadDecoder as KeyIssued's does.
// FuzzKeyRevokedDecodePayload holds it to json.Unmarshal.
func (e *KeyRevoked) DecodePayload(raw []byte) error {
	var d KeyRevoked
	if decodeKeyRevoked(raw, &d) {
		*e = d
		return nil
	}
	return json.Unmarshal(raw, e)
}

func decodeKeyRevoked(raw []byte, d *KeyRevoked) bool {
	c := es.NewCanonical(raw)
	c.Need("key_id")
	d.KeyID = c.UUID()
	c.Need("reason")
	d.Reason = c.StringOf(reasons)
	c.Need("revoked_by")
	d.RevokedBy = c.UUID()
	c.Need("revoked_at")
	d.RevokedAt = c.Time()
	return c.End()
}

// DecodeEvent implements es.EventDecoder: what DecodePayload decodes, as an
// es.Event in one allocation (with what it holds).
func (KeyIssued) DecodeEvent(raw []byte) (es.Event, error) {
	var d KeyIssued
	if decodeKeyIssued(raw, &d) {
		return d, nil
	}
	return es.UnmarshalEvent[KeyIssued](raw)
}

// DecodeEvent implements es.EventDecoder, as KeyIssued's does.
func (KeyChanged) DecodeEvent(raw []byte) (es.Event, error) {
	var d KeyChanged
	if decodeKeyChanged(raw, &d) {
		return d, nil
	}
	return es.UnmarshalEvent[KeyChanged](raw)
}

// DecodeEvent implements es.EventDecoder, as KeyIssued's does.
func (KeyRevoked) DecodeEvent(raw []byte) (es.Event, error) {
	var d KeyRevoked
	if decodeKeyRevoked(raw, &d) {
		return d, nil
	}
	return es.UnmarshalEvent[KeyRevoked](raw)
}

// DecodePayload implements es.PayloadDecoder without reflection: a lock is frozen
// and unfrozen often, and a replay decodes every time. FuzzFrozenDecodePayload
// holds it to json.Unmarshal.
func (e *Frozen) DecodePayload(raw []byte) error {
	var d Frozen
	if decodeFrozen(raw, &d) {
		*e = d
		return nil
	}
	return json.Unmarshal(raw, e)
}

func decodeFrozen(raw []byte, d *Frozen) bool {
	c := es.NewCanonical(raw)
	c.Need("frozen_by")
	d.FrozenBy = c.UUID()
	c.Need("frozen_at")
	d.FrozenAt = c.Time()
	return c.End()
}

// DecodeEvent implements es.EventDecoder, as KeyIssued's does.
func (Frozen) DecodeEvent(raw []byte) (es.Event, error) {
	var d Frozen
	if decodeFrozen(raw, &d) {
		return d, nil
	}
	return es.UnmarshalEvent[Frozen](raw)
}

// DecodePayload implements es.PayloadDecoder as Frozen's does.
func (e *Unfrozen) DecodePayload(raw []byte) error {
	var d Unfrozen
	if decodeUnfrozen(raw, &d) {
		*e = d
		return nil
	}
	return json.Unmarshal(raw, e)
}

func decodeUnfrozen(raw []byte, d *Unfrozen) bool {
	c := es.NewCanonical(raw)
	c.Need("unfrozen_by")
	d.UnfrozenBy = c.UUID()
	c.Need("unfrozen_at")
	d.UnfrozenAt = c.Time()
	return c.End()
}

// DecodeEvent implements es.EventDecoder, as KeyIssued's does.
func (Unfrozen) DecodeEvent(raw []byte) (es.Event, error) {
	var d Unfrozen
	if decodeUnfrozen(raw, &d) {
		return d, nil
	}
	return es.UnmarshalEvent[Unfrozen](raw)
}
