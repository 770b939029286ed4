package projections

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/google/uuid"

	"sleutel/domain/lock"
)

// The rows a replay writes most after the log's entries, encoded without
// reflection: appendJSON appends exactly what json.Marshal writes for the row, or
// fails as it does (TestRowsJSON and FuzzRowsJSON hold them to it).

func (r LockRow) appendJSON(b []byte) ([]byte, error) {
	start := len(b)
	var err error
	b = append(b, `{"id":`...)
	b = appendJSONUUID(b, r.ID)
	b = append(b, `,"serial":`...)
	b = appendJSONString(b, r.Serial)
	b = append(b, `,"name":`...)
	b = appendJSONString(b, r.Name)
	b = append(b, `,"time_zone":`...)
	b = appendJSONString(b, r.TimeZone)
	b = append(b, `,"owner_id":`...)
	b = appendJSONUUID(b, r.OwnerID)
	b = append(b, `,"registered_at":`...)
	b, err = appendJSONTime(b, r.RegisteredAt, err)
	b = append(b, `,"frozen":`...)
	b = strconv.AppendBool(b, r.Frozen)
	b = append(b, `,"key_allowance":`...)
	b = strconv.AppendInt(b, int64(r.KeyAllowance), 10)
	b = append(b, `,"active_keys":`...)
	b = strconv.AppendInt(b, int64(r.ActiveKeys), 10)
	b = append(b, `,"trial_ends_at":`...)
	b, err = appendJSONTime(b, r.TrialEndsAt, err)
	if r.PaidEndsAt != nil {
		b = append(b, `,"paid_ends_at":`...)
		b, err = appendJSONTime(b, *r.PaidEndsAt, err)
	}
	if r.SharedManagementEndsAt != nil {
		b = append(b, `,"shared_management_ends_at":`...)
		b, err = appendJSONTime(b, *r.SharedManagementEndsAt, err)
	}
	b = append(b, `,"device_token_digest":`...)
	b = appendJSONString(b, r.DeviceTokenDigest)
	b = append(b, `,"tenure_start":`...)
	b = strconv.AppendUint(b, r.TenureStart, 10)
	b = append(b, `,"tenure":`...)
	b = strconv.AppendInt(b, int64(r.Tenure), 10)
	b = append(b, `,"removed":`...)
	b = strconv.AppendBool(b, r.Removed)
	b = append(b, '}')
	if err != nil { // encoding/json's own error
		type plain LockRow
		_, err = json.Marshal(plain(r))
		return b[:start], err
	}
	return b, nil
}

func (k KeyRow) appendJSON(b []byte) ([]byte, error) {
	start := len(b)
	var err error
	b = append(b, `{"id":`...)
	b = appendJSONUUID(b, k.ID)
	b = append(b, `,"lock_id":`...)
	b = appendJSONUUID(b, k.LockID)
	b = append(b, `,"type":`...)
	b = appendJSONString(b, string(k.Type))
	b = append(b, `,"holder_name":`...)
	b = appendJSONString(b, k.HolderName)
	if k.AccountID != nil {
		b = append(b, `,"account_id":`...)
		b = appendJSONUUID(b, *k.AccountID)
	}
	if k.CredentialDigest != "" {
		b = append(b, `,"credential_digest":`...)
		b = appendJSONString(b, k.CredentialDigest)
	}
	if k.CredentialHint != "" {
		b = append(b, `,"credential_hint":`...)
		b = appendJSONString(b, k.CredentialHint)
	}
	if k.ValidFrom != nil {
		b = append(b, `,"valid_from":`...)
		b, err = appendJSONTime(b, *k.ValidFrom, err)
	}
	if k.ValidUntil != nil {
		b = append(b, `,"valid_until":`...)
		b, err = appendJSONTime(b, *k.ValidUntil, err)
	}
	if len(k.Schedule) > 0 {
		b = append(b, `,"schedule":[`...)
		for i, w := range k.Schedule {
			if i > 0 {
				b = append(b, ',')
			}
			var werr error
			if b, werr = w.AppendJSON(b); err == nil {
				err = werr
			}
		}
		b = append(b, ']')
	}
	if k.MaxUses != 0 {
		b = append(b, `,"max_uses":`...)
		b = strconv.AppendInt(b, int64(k.MaxUses), 10)
	}
	b = append(b, `,"uses":`...)
	b = strconv.AppendInt(b, int64(k.Uses), 10)
	b = append(b, `,"status":`...)
	b = appendJSONString(b, string(k.Status))
	b = append(b, `,"issued_by":`...)
	b = appendJSONUUID(b, k.IssuedBy)
	if k.Organization != nil {
		b = append(b, `,"organization_id":`...)
		b = appendJSONUUID(b, *k.Organization)
	}
	b = append(b, `,"issued_at":`...)
	b, err = appendJSONTime(b, k.IssuedAt, err)
	if k.ChangedAt != nil {
		b = append(b, `,"changed_at":`...)
		b, err = appendJSONTime(b, *k.ChangedAt, err)
	}
	if k.RevokedAt != nil {
		b = append(b, `,"revoked_at":`...)
		b, err = appendJSONTime(b, *k.RevokedAt, err)
	}
	if k.RevokedBy != nil {
		b = append(b, `,"revoked_by":`...)
		b = appendJSONUUID(b, *k.RevokedBy)
	}
	if k.RevokeReason != "" {
		b = append(b, `,"revoke_reason":`...)
		b = appendJSONString(b, k.RevokeReason)
	}
	b = append(b, '}')
	if err != nil {
		type plain KeyRow
		_, err = json.Marshal(plain(k))
		return b[:start], err
	}
	return b, nil
}

// appendKeyIssuedJSON appends e as json.Marshal does: the lock log shows every
// issued key, its digest taken out (see redacted).
func appendKeyIssuedJSON(b []byte, e lock.KeyIssued) ([]byte, error) {
	start := len(b)
	var err error
	b = append(b, `{"key_id":`...)
	b = appendJSONUUID(b, e.KeyID)
	b = append(b, `,"type":`...)
	b = appendJSONString(b, string(e.Type))
	b = append(b, `,"holder_name":`...)
	b = appendJSONString(b, e.HolderName)
	if e.AccountID != uuid.Nil {
		b = append(b, `,"account_id":`...)
		b = appendJSONUUID(b, e.AccountID)
	}
	if e.CredentialDigest != "" {
		b = append(b, `,"credential_digest":`...)
		b = appendJSONString(b, e.CredentialDigest)
	}
	if e.CredentialHint != "" {
		b = append(b, `,"credential_hint":`...)
		b = appendJSONString(b, e.CredentialHint)
	}
	if e.ValidFrom != nil {
		b = append(b, `,"valid_from":`...)
		b, err = appendJSONTime(b, *e.ValidFrom, err)
	}
	if e.ValidUntil != nil {
		b = append(b, `,"valid_until":`...)
		b, err = appendJSONTime(b, *e.ValidUntil, err)
	}
	if len(e.Schedule) > 0 {
		raw, serr := json.Marshal(e.Schedule)
		if err == nil {
			err = serr
		}
		b = append(b, `,"schedule":`...)
		b = append(b, raw...)
	}
	if e.MaxUses != 0 {
		b = append(b, `,"max_uses":`...)
		b = strconv.AppendInt(b, int64(e.MaxUses), 10)
	}
	b = append(b, `,"issued_by":`...)
	b = appendJSONUUID(b, e.IssuedBy)
	if e.Organization != uuid.Nil {
		b = append(b, `,"organization_id":`...)
		b = appendJSONUUID(b, e.Organization)
	}
	b = append(b, `,"issued_at":`...)
	b, err = appendJSONTime(b, e.IssuedAt, err)
	if e.BulkID != uuid.Nil {
		b = append(b, `,"bulk_id":`...)
		b = appendJSONUUID(b, e.BulkID)
	}
	b = append(b, '}')
	if err != nil {
		_, err = json.Marshal(e)
		return b[:start], err
	}
	return b, nil
}

// appendJSONUUID appends id as encoding/json does (its text, quoted).
func appendJSONUUID(b []byte, id uuid.UUID) []byte {
	var s [36]byte
	hexID(s[:], id)
	b = append(b, '"')
	b = append(b, s[:]...)
	return append(b, '"')
}

// hexID writes id's canonical text form into s (36 bytes), as uuid.UUID.String.
func hexID(s []byte, id uuid.UUID) {
	j := 0
	for i, c := range id {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			s[j] = '-'
			j++
		}
		s[j], s[j+1] = hexDigits[c>>4], hexDigits[c&0xF]
		j += 2
	}
}

// appendJSONTime appends t as time.Time's MarshalJSON does. It keeps the first
// error: a time MarshalJSON refuses (a year past 9999), for which the caller asks
// encoding/json for its error.
func appendJSONTime(b []byte, t time.Time, err error) ([]byte, error) {
	b = append(b, '"')
	b, terr := t.AppendText(b)
	if err == nil {
		err = terr
	}
	return append(b, '"'), err
}
