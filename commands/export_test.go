package commands

// FailAfterConsume makes RedeemOnLock stop between consuming the code and granting
// its benefit, as a crash would (P3 test).
func (h *Codes) FailAfterConsume(err error) { h.afterConsume = func() error { return err } }
