import sys

from bountyguard.cli import main

sys.exit(main())
