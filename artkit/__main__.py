"""``python -m artkit`` runs the command-line interface."""

from artkit.cli import main

if __name__ == "__main__":
    main()
