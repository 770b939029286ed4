package confusable_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"sleutel/infra/confusable"
)

// TestConfusable_A1 checks the look-alikes SPEC A1 names, and that distinct names
// stay distinct.
func TestConfusable_A1(t *testing.T) {
	t.Parallel()
	alike := []struct{ a, b, why string }{
		{"bob", "BOB", "case"},
		{"  anna ", "Anna", "surrounding white space"},
		{"jo.o", "jo.O", "o/O"},
		{"jo.o", "jo.0", "o/0"},
		{"jo.O", "jo.0", "O/0"},
		{"paul", "pau1", "l/1"},
		{"paul", "pauI", "l/I"},
		{"pau1", "pauI", "1/I"},
		{"ian", "lan", "I/l through the capital"},
		{"mark", "rnark", "rn/m"},
		{"anna", "\u0430nn\u0430", "Cyrillic а"},
		{"peter", "\u0440eter", "Cyrillic р"},
		{"oscar", "\u043Escar", "Cyrillic о"},
		{"max", "\u039C\u0391\u03A7", "Greek capitals Mu, Alpha, Chi"},
		{"scott", "\uFF53cott", "fullwidth s (NFKC)"},
		{"straße", "STRASSE", "ß folds to ss"},
	}
	for _, c := range alike {
		require.Truef(t, confusable.Confusable(c.a, c.b), "Confusable(%q, %q) = false, want true (%s)", c.a, c.b, c.why)
	}
	distinct := [][2]string{{"anna", "anne"}, {"mark", "mart"}, {"jan", "jean"}, {"kees_1", "kees_2"}, {"a.b", "a-b"}}
	for _, c := range distinct {
		require.Falsef(t, confusable.Confusable(c[0], c[1]), "Confusable(%q, %q) = true, want false", c[0], c[1])
	}
}

// TestKeys_caseless checks that names equal but for case have the same keys, so a
// name's keys follow from its case-insensitive identity.
func TestKeys_caseless(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"anna", "Ian", "rnark", "\u039C\u0391\u03A7", "Stra\u00DFe", "J\u00F6rg"} {
		keys := confusable.Keys(name)
		require.NotEmpty(t, keys)
		require.LessOrEqual(t, len(keys), 2)
		require.Equal(t, keys, confusable.Keys(strings.ToUpper(name)), "Keys(%q)", strings.ToUpper(name))
		require.Equal(t, keys, confusable.Keys(strings.ToLower(name)), "Keys(%q)", strings.ToLower(name))
	}
}
