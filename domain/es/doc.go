// Package es holds the event-sourcing vocabulary shared by the domain, the command
// handlers, the projections and every event store: events and their envelope (SPEC
// H1), metadata, global positions, expected revisions, stream names and filters, the
// type registry with its upcasters, and the hash chain of SPEC H4.
//
// It imports the standard library and uuid only.
package es
