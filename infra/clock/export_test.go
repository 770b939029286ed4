package clock

import "time"

// NewDevFrom returns a Dev clock over the given real-time source, so tests decide
// how real time flows.
func NewDevFrom(real func() time.Time) *Dev { return newDev(real) }
