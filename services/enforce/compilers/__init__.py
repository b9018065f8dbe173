"""enforce/compilers"""
