from credlib.cli import main

main()
