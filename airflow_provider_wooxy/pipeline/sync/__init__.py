"""
The sync flow: make a Wooxy list hold exactly a complete desired list, as far as the provider manages it.

* :mod:`.entries`: what one entry of each list is (its state line, identity, address and requests);
* :mod:`.partitions`: how entries are spread over partitions, and a loaded state's partitions on disk;
* :mod:`.snapshot`: the snapshot's format (header, grouped body, checksum, digest);
* :mod:`.stores`: where a state lives (a local file, object storage): the snapshot's replacement, the journal;
* :mod:`.state`: the managed entries, loaded from the snapshot and its journal, and kept up to date;
* :mod:`.first_pass`: the input rows that name a managed entry as they stand, matched before validation;
* :mod:`.plan`: the diff of the validated input against the state, by partitions on disk, and the plan file;
* :mod:`.verify`: the drift check, the managed entries a list lost;
* :mod:`.apply`: sending a plan, each accepted request recorded in the journal;
* :mod:`.run`: the whole run (read, validate, plan, guard, apply, report), which the operators call.

Plain Python: no Airflow import.
"""
