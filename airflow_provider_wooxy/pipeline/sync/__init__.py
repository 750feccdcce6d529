"""
The sync flow: make a Wooxy list hold exactly a complete desired list, as far as the provider manages it.

* :mod:`.entries`: what one entry of each list is (its state line, identity and remove request);
* :mod:`.state`: the managed entries, kept in a snapshot and a journal (one class per storage strategy);
* :mod:`.plan`: the diff of the validated input against the state, by partitions on disk;
* :mod:`.apply`: sending a plan, each accepted request recorded in the journal;
* :mod:`.run`: the whole run (read, validate, plan, guard, apply, report), which the operators call.

Plain Python: no Airflow import.
"""
