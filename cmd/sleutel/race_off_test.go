//go:build !race

package main

// raceEnabled: the race detector shadows every page of the heap with pages of its own.
const raceEnabled = false
