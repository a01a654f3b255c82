"""``python -m corridor``: the same as the ``corridor`` command."""

from corridor.cli import main

main()
