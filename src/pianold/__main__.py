from pianold.cli import main

main()
