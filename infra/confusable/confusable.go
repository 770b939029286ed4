// Package confusable decides when two usernames look alike (SPEC A1), with the
// confusable skeletons of Unicode Technical Standard #39 (go.mau.fi/util/confusable,
// data of Unicode 17.0) over the NFKC case-folded form (golang.org/x/text).
//
// A username has two keys. Case-insensitive matching joins "Ian" with "ian", and
// UTS #39 joins "I" with "l", but no single function of the folded form can keep
// both ("ian" and "lan" differ once folded), and the same holds for Greek capital
// Mu and M, Chi and X, and about fifty other capitals whose look-alike is not
// their small letter's. So one key is the skeleton of the lower-case form (rn/m,
// 0/o, Cyrillic а/a) and the other the skeleton of the upper-case form (I/l,
// Μ/M); two usernames are confusable when they share either key. The cost is a few
// refusals a person would not make ("lan" when "ian" exists), which is the safe
// side for names that others trust.
package confusable

import (
	"slices"
	"strings"

	"go.mau.fi/util/confusable"
	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// Version names the data and rules behind Keys, so that stored keys can be told
// apart from those of a later version.
const Version = "uts39-17.0"

// Keys returns the confusable keys of a username, one or two, sorted and without
// repeats: two usernames are confusable when they share a key (A1). Keys are for
// comparison only, never for display. Surrounding white space is ignored.
func Keys(username string) []string {
	s := norm.NFKC.String(strings.TrimSpace(username))
	lower := settle(cases.Fold().String(s))
	upper := settle(strings.ToUpper(s))
	if lower == upper {
		return []string{lower}
	}
	keys := []string{lower, upper}
	slices.Sort(keys)
	return keys
}

// settle maps s to its skeleton and folds it until neither changes it any more:
// a skeleton may hold capitals ("0" → "O") and a folded capital may have a
// skeleton of its own. A few rounds always suffice; the bound only guards the loop.
func settle(s string) string {
	fold := cases.Fold()
	for range 4 {
		next := fold.String(norm.NFKC.String(confusable.Skeleton(s)))
		if next == s {
			break
		}
		s = next
	}
	return s
}

// Confusable reports whether two usernames share a key.
func Confusable(a, b string) bool {
	ka, kb := Keys(a), Keys(b)
	for _, k := range ka {
		if slices.Contains(kb, k) {
			return true
		}
	}
	return false
}
