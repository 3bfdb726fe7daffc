"""``python -m videoqa``: the ``videoqa`` command line (also what
``accelerate launch -m videoqa train ...`` runs in every process)."""

from videoqa.cli.main import main

if __name__ == "__main__":
    main()
