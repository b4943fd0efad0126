package main

import (
	"path/filepath"
	"strings"

	"github.com/sirupsen/logrus"
)

// onDisk is where a one-process run keeps, beside Central's database, what
// a restart after a kill -9 needs to deliver the tickets of the supplies that
// were running: the engines' journals and the embedded broker's data.
type onDisk struct {
	// Journals is the engines' journal folder; empty = in memory.
	Journals string
	// Broker is the embedded broker's data folder; empty = in memory.
	Broker string
}

// keptOnDisk derives the folders from the database path (central.db ->
// central-engines/ and central-kafka/ beside it); nothing for :memory:, which
// it says in one line.
func keptOnDisk(db string, log logrus.FieldLogger) onDisk {
	if db == ":memory:" {
		log.Info("Nothing is kept on disk (--db :memory:): a kill of evsim loses the supplies running at that moment; give --db FILE to keep them")
		return onDisk{}
	}
	base := strings.TrimSuffix(db, filepath.Ext(db))
	return onDisk{Journals: base + "-engines", Broker: base + "-kafka"}
}
