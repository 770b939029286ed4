package es

// Root carries what every aggregate tracks for its repository: the number of stored
// events it was built from (its version) and the events recorded since, not yet
// stored. Aggregates embed it and keep their own state private.
type Root struct {
	version uint64
	changes []Event
}

// Version returns the number of stored events the aggregate reflects; 0 for a new one.
func (r *Root) Version() uint64 { return r.version }

// Changes returns the events recorded and not yet stored.
func (r *Root) Changes() []Event { return r.changes }

// Record appends e to the changes after the aggregate has applied it.
func (r *Root) Record(e Event) { r.changes = append(r.changes, e) }

// Replayed counts n stored events applied to the aggregate.
func (r *Root) Replayed(n int) { r.version += uint64(n) }

// Committed marks the changes as stored: the version grows by their number.
func (r *Root) Committed() {
	r.version += uint64(len(r.changes))
	r.changes = nil
}
