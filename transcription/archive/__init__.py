"""Each session's audio: archived as it arrives (`audio`), compressed (`compaction`), purged (`retention`)."""
