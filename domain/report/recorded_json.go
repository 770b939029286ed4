package report

import (
	"encoding/json"

	"sleutel/domain/es"
)

// DecodePayload implements es.PayloadDecoder: a payload in the form json.Marshal
// writes (every stored report: fields in order, no white space, no escapes) is
// read without reflection, each value by the very function encoding/json would
// call; anything else goes to json.Unmarshal. Device reports are most of the log,
// and a replay decodes every one. FuzzRecordedDecodePayload holds it to
// json.Unmarshal.
func (r *Recorded) DecodePayload(raw []byte) error {
	var d Recorded
	if decodeRecorded(raw, &d) {
		*r = d
		return nil
	}
	return json.Unmarshal(raw, r) // Recorded has no JSON methods: this is encoding/json's own reading
}

// DecodeEvent implements es.EventDecoder: what DecodePayload decodes, as an
// es.Event in one allocation (with the strings and the battery level it holds).
func (Recorded) DecodeEvent(raw []byte) (es.Event, error) {
	var d Recorded
	if decodeRecorded(raw, &d) {
		return d, nil
	}
	return es.UnmarshalEvent[Recorded](raw)
}

// types are the report types a device sends, which decodeRecorded reads without
// allocating.
var types = []string{AccessGranted, AccessDenied, Battery, Tamper}

// decodeRecorded reads raw into d when it is in json.Marshal's form, and reports
// whether it was.
func decodeRecorded(raw []byte, d *Recorded) bool {
	c := es.NewCanonical(raw)
	c.Need("report_id")
	d.ReportID = c.String()
	c.Need("lock_id")
	d.LockID = c.UUID()
	c.Need("type")
	d.Type = c.StringOf(types)
	c.Need("occurred_at")
	d.OccurredAt = c.Time()
	c.Need("recorded_at")
	d.RecordedAt = c.Time()
	if c.Field("key_id") {
		d.KeyID = c.UUID()
	}
	if c.Field("battery_percent") {
		n := c.Int()
		d.BatteryPercent = &n
	}
	return c.End()
}
