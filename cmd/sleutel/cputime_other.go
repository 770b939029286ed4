//go:build !unix

package main

import (
	"errors"
	"time"
)

// cpuTime returns 0 where the process's CPU time is not known.
func cpuTime() time.Duration { return 0 }

// memoryUse returns 0s where the process's memory use is not known.
func memoryUse() (maxRSSBytes int64, minorFaults int64) { return 0, 0 }

// freshPageCost is not measured here.
func freshPageCost(bool) (time.Duration, error) { return 0, errors.ErrUnsupported }
